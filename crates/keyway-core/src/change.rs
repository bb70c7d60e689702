//! The write vocabulary: every admin write is a list of [`Change`]s,
//! applied to storage in one transaction and then to the in-memory
//! snapshot. In a cluster the same changes travel between nodes.

use crate::certificates::ClientCertificate;
use crate::hmac_keys::HmacKey;
use crate::issuers::JwtIssuer;
use crate::model::{Api, ApiKey, App, Subscription, Tenant, User};
use crate::providers::{AiModel, Provider};

/// One stored entity, whole.
// A record lives only while a write is in flight (the snapshot keeps its
// own copies), so the size of its largest variant, an API, costs nothing
// worth a box and the churn of one at every match.
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Debug, PartialEq)]
pub enum Record {
    /// A tenant.
    Tenant(Tenant),
    /// A user.
    User(User),
    /// An app.
    App(App),
    /// An API key (digest included, secret never).
    Key(ApiKey),
    /// An API.
    Api(Api),
    /// A subscription of an app to an API.
    Subscription(Subscription),
    /// An AI provider of a tenant (credentials sealed).
    Provider(Provider),
    /// A model of a tenant.
    Model(AiModel),
    /// A trusted JWT issuer of a tenant.
    Issuer(JwtIssuer),
    /// A client certificate bound to an app.
    Certificate(ClientCertificate),
    /// An HMAC signing key of an app (secret sealed).
    HmacKey(HmacKey),
}

impl Record {
    /// The resource type name used in audit entries.
    pub fn kind(&self) -> &'static str {
        match self {
            Record::Tenant(_) => "tenant",
            Record::User(_) => "user",
            Record::App(_) => "app",
            Record::Key(_) => "key",
            Record::Api(_) => "api",
            Record::Subscription(_) => "subscription",
            Record::Provider(_) => "provider",
            Record::Model(_) => "model",
            Record::Issuer(_) => "issuer",
            Record::Certificate(_) => "certificate",
            Record::HmacKey(_) => "hmac_key",
        }
    }
}

/// A write to apply.
#[derive(Clone, Debug, PartialEq)]
pub enum Change {
    /// Create a new entity; fails with a conflict if a unique field clashes.
    Insert(Record),
    /// Replace an existing entity by id; fails if it does not exist.
    Update(Record),
}

impl Change {
    /// The record written.
    pub fn record(&self) -> &Record {
        match self {
            Change::Insert(r) | Change::Update(r) => r,
        }
    }
}
