//! The price table and cost computation, with hand-computed numbers.

use keyway_ai::price::{cost, Price, PriceError, PriceTable, BUILTIN_PRICES};
use keyway_ai::{gemini, Usage};

fn close(a: f64, b: f64) {
    assert!((a - b).abs() < 1e-12, "{a} != {b}");
}

#[test]
fn builtin_table_parses_and_has_the_mainstream_models() {
    let t = PriceTable::parse(BUILTIN_PRICES).unwrap();
    assert_eq!(&t, PriceTable::builtin());
    assert_eq!(t.checked(), "2026-12");
    for m in [
        "gpt-4o",
        "gpt-4o-mini",
        "gpt-4.1",
        "gpt-4.1-mini",
        "o3",
        "o4-mini",
        "text-embedding-3-small",
        "text-embedding-3-large",
        "claude-sonnet-4",
        "claude-opus-4",
        "claude-3-5-haiku",
        "gemini-2.5-pro",
        "gemini-2.5-flash",
        "mistral-large",
        "mistral-small",
    ] {
        assert!(t.lookup(m).is_some(), "{m} missing");
    }
    // Every entry is sane: cached cheaper than input, output priced.
    for (m, p) in t.iter() {
        assert!(p.cached_input_per_mtok.is_none_or(|c| c < p.input_per_mtok), "{m}");
        assert!(p.output_per_mtok > 0.0 || m.starts_with("text-embedding"), "{m}");
    }
    assert_eq!(t.len(), t.iter().count());
    assert!(!t.is_empty());
}

#[test]
fn lookup_exact_then_dated_suffix() {
    let t = PriceTable::builtin();
    let gpt4o = *t.lookup("gpt-4o").unwrap();
    assert_eq!(gpt4o.input_per_mtok, 2.50);
    assert_eq!(gpt4o.output_per_mtok, 10.00);
    assert_eq!(gpt4o.cached_input_per_mtok, Some(1.25));
    assert_eq!(t.lookup("gpt-4o-2024-08-06"), Some(&gpt4o));
    // The mini has its own price, dated or not: no prefix matching.
    let mini = t.lookup("gpt-4o-mini-2024-07-18").unwrap();
    assert_eq!(mini.input_per_mtok, 0.15);
    assert_eq!(t.lookup("claude-sonnet-4-20250514"), t.lookup("claude-sonnet-4"));
    assert_eq!(t.lookup("claude-sonnet-4@20250514"), t.lookup("claude-sonnet-4"));
    assert_eq!(t.lookup("claude-3-5-haiku-20241022").unwrap().cache_write_per_mtok, Some(1.00));
    assert_eq!(t.lookup("claude-opus-4-1-20250805"), t.lookup("claude-opus-4-1"));
    assert_eq!(t.lookup("mistral-small-latest"), t.lookup("mistral-small"));
    assert_eq!(t.lookup("mistral-small-2506"), t.lookup("mistral-small"));
    // Exact beats stripping: mistral-large-2411 has its own entry.
    assert_eq!(t.lookup("mistral-large-2411").unwrap().input_per_mtok, 2.00);
    assert_eq!(t.lookup("o3-2025-04-16"), t.lookup("o3"));
    // Unknown models, and near misses, are None.
    for m in [
        "gpt-4o-turbo",
        "gpt-4",
        "llama-3.1-70b",
        "",
        "-2024-08-06",
        "gemini-2.5-flash-preview-05-20",
        "gpt-4o-2024-08",
        "é-2024-08-06x",
        "gpt-4o@2024",
    ] {
        assert_eq!(t.lookup(m), None, "{m}");
        assert_eq!(t.cost(m, &Usage::default()), None);
    }
}

#[test]
fn cost_plain_tokens() {
    // gpt-4o: 1,000 in at $2.50 + 500 out at $10 = 0.0025 + 0.005.
    let u = Usage { input_tokens: 1_000, output_tokens: 500, ..Usage::default() };
    close(PriceTable::builtin().cost("gpt-4o", &u).unwrap(), 0.0075);
}

#[test]
fn cost_openai_cached_and_reasoning() {
    // o4-mini: 10,000 prompt of which 8,000 cached; 2,000 out of which 1,500 reasoning.
    // uncached 2,000 x 1.10 = 2,200; cached 8,000 x 0.275 = 2,200;
    // output 2,000 x 4.40 = 8,800 (reasoning at output price). Sum 13,200 / 1e6.
    let u = Usage {
        input_tokens: 10_000,
        output_tokens: 2_000,
        cached_input_tokens: 8_000,
        reasoning_tokens: 1_500,
        ..Usage::default()
    };
    close(PriceTable::builtin().cost("o4-mini-2025-04-16", &u).unwrap(), 0.0132);
}

#[test]
fn cost_anthropic_cache_reads_and_writes() {
    // claude-sonnet-4: canonical input 1,000 uncached + 50,000 read + 10,000 written = 61,000.
    // 1,000 x 3 = 3,000; 50,000 x 0.30 = 15,000; 10,000 x 3.75 = 37,500; 800 out x 15 = 12,000.
    // Sum 67,500 / 1e6 = 0.0675 (charging the reads/writes at input too would give 0.2505).
    let u = Usage {
        input_tokens: 61_000,
        output_tokens: 800,
        cached_input_tokens: 50_000,
        cache_write_tokens: 10_000,
        reasoning_tokens: 0,
    };
    close(PriceTable::builtin().cost("claude-sonnet-4-20250514", &u).unwrap(), 0.0675);
}

#[test]
fn cost_gemini_usage_end_to_end() {
    // The Gemini fixture: prompt 1,200 (1,024 cached), 40 candidates + 250 thoughts.
    // gemini-2.5-flash: 176 x 0.30 = 52.8; 1,024 x 0.03 = 30.72; 290 x 2.50 = 725. Sum 808.52 / 1e6.
    let resp = gemini::parse_response(crate::gemini::RESPONSE.as_bytes()).unwrap();
    let c = PriceTable::builtin().cost(&resp.model, &resp.usage.unwrap()).unwrap();
    close(c, 0.000_808_52);
}

#[test]
fn cost_with_overrides_and_fallbacks() {
    // No cached/write prices: those tokens cost input. A reasoning price is used when given.
    let p = Price { input_per_mtok: 1.0, output_per_mtok: 4.0, reasoning_per_mtok: Some(2.0), ..Price::default() };
    let u = Usage {
        input_tokens: 1_000_000,
        output_tokens: 1_000_000,
        cached_input_tokens: 250_000,
        cache_write_tokens: 250_000,
        reasoning_tokens: 400_000,
    };
    // input 1.0 x 1M = 1.0; visible 600k x 4 = 2.4; reasoning 400k x 2 = 0.8.
    close(cost(&p, &u), 4.2);
    // Inconsistent counts are clamped, never negative or double-charged.
    let odd =
        Usage { input_tokens: 100, output_tokens: 10, cached_input_tokens: 500, cache_write_tokens: 50, reasoning_tokens: 99 };
    let p = Price {
        input_per_mtok: 1.0,
        output_per_mtok: 1.0,
        cached_input_per_mtok: Some(0.5),
        cache_write_per_mtok: Some(2.0),
        reasoning_per_mtok: None,
    };
    // cached clamped to 100 (x0.5 = 50), no room left for writes, output 10 x 1.
    close(cost(&p, &odd), 60.0 / 1e6);
    close(cost(&p, &Usage::default()), 0.0);
}

#[test]
fn price_serde_matches_the_admin_shape() {
    let p: Price = serde_json::from_str(r#"{"input_per_mtok":3,"output_per_mtok":15,"cached_input_per_mtok":0.3}"#).unwrap();
    assert_eq!(p, Price { input_per_mtok: 3.0, output_per_mtok: 15.0, cached_input_per_mtok: Some(0.3), ..Price::default() });
    assert_eq!(
        serde_json::to_value(p).unwrap(),
        serde_json::json!({"input_per_mtok":3.0,"output_per_mtok":15.0,"cached_input_per_mtok":0.3})
    );
}

#[test]
fn malformed_tables_fail() {
    let ok = "checked = \"2026-01\"\n[models.\"m\"]\ninput = 1\noutput = 2\n";
    assert_eq!(PriceTable::parse(ok).unwrap().lookup("m").unwrap().output_per_mtok, 2.0);
    let bad = [
        "checked = \"2026-01\"\n[models.\"m\"]\ninput = 1\n", // no output
        "checked = \"2026-01\"\n[models.\"m\"]\ninput = \"1\"\noutput = 2\n", // string price
        "checked = \"2026-01\"\n[models.\"m\"]\ninput = 1\noutput = 2\ncache = 1\n", // unknown field
        "[models.\"m\"]\ninput = 1\noutput = 2\n",            // no checked
        "checked = \"2026-01\"\n[models.\"m\"\ninput = 1\n",  // not TOML
        "checked = \"2026-01\"\nmodels = 3\n",                // wrong shape
    ];
    for text in bad {
        assert!(matches!(PriceTable::parse(text), Err(PriceError::Toml(_))), "{text}");
    }
    let neg = "checked = \"2026-01\"\n[models.\"m\"]\ninput = 1\noutput = 2\ncached_input = -0.5\n";
    let err = PriceTable::parse(neg).unwrap_err();
    assert_eq!(err, PriceError::Invalid { model: "m".into(), field: "cached_input" });
    assert!(err.to_string().contains("cached_input"));
    let inf = "checked = \"2026-01\"\n[models.\"m\"]\ninput = inf\noutput = 2\n";
    assert!(matches!(PriceTable::parse(inf), Err(PriceError::Invalid { field: "input", .. })));
}
