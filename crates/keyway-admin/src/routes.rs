//! The route table: every (method, path) the admin API serves, with its
//! handler. [`router`](crate::router) is built from it, and the OpenAPI
//! test walks it, so the document cannot drift from what is served.

use crate::resources::{
    analytics, apis, apps, audit, certificates, hmac_keys, issuers, key_batch, keys, logs, models, providers, subscriptions,
    tenants, users,
};
use crate::state::AdminState;
use crate::{diagnose, health, openapi};
use axum::http::Method;
use axum::routing::{on, MethodFilter, MethodRouter};

/// One route: method, path (axum syntax, `{id}`) and handler.
pub(crate) struct RouteDef {
    pub method: Method,
    pub path: &'static str,
    pub handler: MethodRouter<AdminState>,
}

macro_rules! table {
    ($( $method:ident $path:literal => $handler:path, )*) => {
        vec![$( RouteDef {
            method: Method::$method,
            path: $path,
            handler: on(MethodFilter::$method, $handler),
        }, )*]
    };
}

/// Every route with its handler.
pub(crate) fn table() -> Vec<RouteDef> {
    table! {
        GET "/healthz" => health::healthz,
        GET "/readyz" => health::readyz,
        GET "/metrics" => health::metrics,
        GET "/admin/v1/openapi.json" => openapi::document,

        POST "/admin/v1/tenants" => tenants::create,
        GET "/admin/v1/tenants" => tenants::list_all,
        GET "/admin/v1/tenants/{id}" => tenants::get,
        PATCH "/admin/v1/tenants/{id}" => tenants::patch,

        POST "/admin/v1/tenants/{id}/users" => users::create,
        GET "/admin/v1/tenants/{id}/users" => users::list_of_tenant,
        GET "/admin/v1/users/{id}" => users::get,
        PATCH "/admin/v1/users/{id}" => users::patch,
        DELETE "/admin/v1/users/{id}" => users::delete,

        POST "/admin/v1/tenants/{id}/apps" => apps::create,
        GET "/admin/v1/tenants/{id}/apps" => apps::list_of_tenant,
        GET "/admin/v1/apps/{id}" => apps::get,
        PATCH "/admin/v1/apps/{id}" => apps::patch,
        DELETE "/admin/v1/apps/{id}" => apps::delete,

        POST "/admin/v1/apps/{id}/keys" => keys::create,
        POST "/admin/v1/apps/{id}/keys:batch" => key_batch::create_batch,
        GET "/admin/v1/apps/{id}/keys" => keys::list_of_app,
        GET "/admin/v1/keys/{id}" => keys::get,
        POST "/admin/v1/keys/{id}/rotate" => keys::rotate,
        POST "/admin/v1/keys/{id}/revoke" => keys::revoke,

        POST "/admin/v1/tenants/{id}/apis" => apis::create,
        GET "/admin/v1/tenants/{id}/apis" => apis::list_of_tenant,
        GET "/admin/v1/tenants/{id}/catalog" => apis::catalog,
        GET "/admin/v1/apis/{id}" => apis::get,
        PATCH "/admin/v1/apis/{id}" => apis::patch,

        POST "/admin/v1/apis/{id}/subscriptions" => subscriptions::create,
        GET "/admin/v1/apis/{id}/subscriptions" => subscriptions::list_of_api,
        GET "/admin/v1/apps/{id}/subscriptions" => subscriptions::list_of_app,
        GET "/admin/v1/subscriptions/{id}" => subscriptions::get,
        POST "/admin/v1/subscriptions/{id}/approve" => subscriptions::approve,
        POST "/admin/v1/subscriptions/{id}/reject" => subscriptions::reject,
        POST "/admin/v1/subscriptions/{id}/revoke" => subscriptions::revoke,

        POST "/admin/v1/tenants/{id}/providers" => providers::create,
        GET "/admin/v1/tenants/{id}/providers" => providers::list_of_tenant,
        GET "/admin/v1/providers/{id}" => providers::get,
        PATCH "/admin/v1/providers/{id}" => providers::patch,
        DELETE "/admin/v1/providers/{id}" => providers::delete,

        POST "/admin/v1/tenants/{id}/models" => models::create,
        GET "/admin/v1/tenants/{id}/models" => models::list_of_tenant,
        GET "/admin/v1/models/{id}" => models::get,
        PATCH "/admin/v1/models/{id}" => models::patch,
        DELETE "/admin/v1/models/{id}" => models::delete,

        POST "/admin/v1/tenants/{id}/issuers" => issuers::create,
        GET "/admin/v1/tenants/{id}/issuers" => issuers::list_of_tenant,
        GET "/admin/v1/issuers/{id}" => issuers::get,
        PATCH "/admin/v1/issuers/{id}" => issuers::patch,
        DELETE "/admin/v1/issuers/{id}" => issuers::delete,

        POST "/admin/v1/apps/{id}/certificates" => certificates::create,
        GET "/admin/v1/apps/{id}/certificates" => certificates::list_of_app,
        GET "/admin/v1/certificates/{id}" => certificates::get,
        DELETE "/admin/v1/certificates/{id}" => certificates::delete,

        POST "/admin/v1/apps/{id}/hmac-keys" => hmac_keys::create,
        GET "/admin/v1/apps/{id}/hmac-keys" => hmac_keys::list_of_app,
        POST "/admin/v1/hmac-keys/{id}/revoke" => hmac_keys::revoke,

        GET "/admin/v1/logs" => logs::list_calls,
        GET "/admin/v1/audit" => audit::list_entries,
        GET "/admin/v1/analytics/timeseries" => analytics::timeseries,
        GET "/admin/v1/analytics/top" => analytics::top,

        POST "/admin/v1/diagnose" => diagnose::diagnose,
    }
}

/// Every (method, path) the admin API serves, in table order.
pub fn routes() -> Vec<(Method, &'static str)> {
    table().into_iter().map(|r| (r.method, r.path)).collect()
}
