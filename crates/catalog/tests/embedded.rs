//! The embedded catalog: it loads, it is big enough, and its facts are consistent.

use bg_catalog::{catalog, partition_of, LifecycleStatus, Modality, ModelFamily};
use std::collections::HashSet;

#[test]
fn embedded_catalog_loads() {
    let c = catalog();
    assert!(c.models.len() >= 35, "only {} models", c.models.len());
    assert!(!c.regions.is_empty());
    assert!(!c.profiles.is_empty());
}

#[test]
fn at_least_seven_providers_with_aws_names() {
    let providers: HashSet<&str> = catalog().providers().into_iter().collect();
    assert!(providers.len() >= 7, "{providers:?}");
    for p in [
        "Amazon",
        "Anthropic",
        "Meta",
        "Mistral AI",
        "Cohere",
        "AI21 Labs",
        "DeepSeek",
        "OpenAI",
        "Qwen",
    ] {
        assert!(providers.contains(p), "missing provider {p}");
    }
}

#[test]
fn every_fact_has_source_and_date() {
    let c = catalog();
    for m in &c.models {
        assert!(!m.source.trim().is_empty(), "{}", m.id);
        assert!(!m.as_of.trim().is_empty(), "{}", m.id);
    }
    for p in &c.profiles {
        assert!(
            !p.source.trim().is_empty() && !p.as_of.is_empty(),
            "{}",
            p.id
        );
    }
    for r in &c.regions {
        assert!(
            !r.source.trim().is_empty() && !r.as_of.is_empty(),
            "{}",
            r.id
        );
    }
}

#[test]
fn every_referenced_region_exists() {
    let c = catalog();
    for m in &c.models {
        for r in m.on_demand_regions.iter().chain(&m.profile_only_regions) {
            assert!(c.region(r).is_some(), "{} -> {r}", m.id);
        }
    }
    for p in &c.profiles {
        for r in p.source_regions.iter().chain(&p.destination_regions) {
            assert!(c.region(r).is_some(), "{} -> {r}", p.id);
        }
        assert!(c.model(&p.model_id).is_some(), "{}", p.id);
        assert_eq!(p.id, format!("{}.{}", p.prefix, p.model_id));
    }
}

#[test]
fn regions_cover_all_partitions_with_bedrock() {
    let c = catalog();
    let us_east_1 = c.region("us-east-1").unwrap();
    assert_eq!(us_east_1.partition, "aws");
    assert_eq!(us_east_1.name, "US East (N. Virginia)");
    assert!(!us_east_1.opt_in);
    assert!(c.region("af-south-1").unwrap().opt_in);
    assert!(c.region("me-central-1").unwrap().opt_in);
    assert_eq!(c.region("us-gov-west-1").unwrap().partition, "aws-us-gov");
    assert_eq!(c.region("us-iso-east-1").unwrap().partition, "aws-iso");
    assert_eq!(c.region("eusc-de-east-1").unwrap().partition, "aws-eusc");
    // ap-east-1 has no Bedrock endpoint, but it is a Region of the aws partition.
    assert!(c.region("ap-east-1").is_none());
    assert!(c.is_known_region("ap-east-1"));
    assert!(c.is_known_region("us-east-1"));
    assert!(c.is_known_region("cn-north-1"));
    assert!(!c.is_known_region("moon-1"));
    assert!(c.region("moon-1").is_none());
}

#[test]
fn partition_rule_matches_the_data() {
    let c = catalog();
    for p in &c.partitions {
        for r in &p.regions {
            assert_eq!(partition_of(r), p.id, "{r}");
            assert_eq!(c.partition_of_region(r).unwrap().id, p.id);
        }
    }
    for r in &c.regions {
        assert_eq!(partition_of(&r.id), r.partition);
    }
}

#[test]
fn required_models_are_present() {
    let c = catalog();
    for id in [
        "anthropic.claude-3-haiku-20240307-v1:0",
        "anthropic.claude-3-5-haiku-20241022-v1:0",
        "anthropic.claude-3-7-sonnet-20250219-v1:0",
        "anthropic.claude-sonnet-4-20250514-v1:0",
        "anthropic.claude-sonnet-4-5-20250929-v1:0",
        "anthropic.claude-haiku-4-5-20251001-v1:0",
        "anthropic.claude-opus-4-1-20250805-v1:0",
        "anthropic.claude-opus-4-5-20251101-v1:0",
        "anthropic.claude-opus-4-6-v1",
        "anthropic.claude-sonnet-4-6",
        "amazon.nova-micro-v1:0",
        "amazon.nova-lite-v1:0",
        "amazon.nova-pro-v1:0",
        "amazon.nova-premier-v1:0",
        "amazon.nova-2-lite-v1:0",
        "amazon.nova-canvas-v1:0",
        "amazon.titan-text-express-v1",
        "amazon.titan-embed-text-v2:0",
        "meta.llama3-8b-instruct-v1:0",
        "meta.llama3-1-8b-instruct-v1:0",
        "meta.llama3-1-70b-instruct-v1:0",
        "meta.llama3-3-70b-instruct-v1:0",
        "meta.llama4-scout-17b-instruct-v1:0",
        "meta.llama4-maverick-17b-instruct-v1:0",
        "mistral.mistral-large-2402-v1:0",
        "mistral.mixtral-8x7b-instruct-v0:1",
        "mistral.pixtral-large-2502-v1:0",
        "mistral.mistral-large-3-675b-instruct",
        "cohere.command-r-v1:0",
        "cohere.command-r-plus-v1:0",
        "cohere.embed-english-v3",
        "cohere.embed-multilingual-v3",
        "cohere.embed-v4:0",
        "ai21.jamba-1-5-large-v1:0",
        "ai21.jamba-1-5-mini-v1:0",
        "deepseek.r1-v1:0",
        "deepseek.v3-v1:0",
        "openai.gpt-oss-120b-1:0",
        "openai.gpt-oss-20b-1:0",
        "qwen.qwen3-32b-v1:0",
    ] {
        assert!(c.model(id).is_some(), "missing {id}");
    }
}

#[test]
fn model_attributes_follow_the_facts() {
    let c = catalog();
    let lite = c.model("amazon.nova-lite-v1:0").unwrap();
    assert_eq!(lite.name, "Nova Lite");
    assert_eq!(lite.provider, "Amazon");
    assert_eq!(lite.family, ModelFamily::AmazonNova);
    assert!(lite.converse && lite.streaming && !lite.marketplace && !lite.use_case_form);

    let haiku = c.model("anthropic.claude-3-haiku-20240307-v1:0").unwrap();
    assert_eq!(haiku.name, "Claude 3 Haiku");
    assert!(haiku.marketplace && haiku.use_case_form);
    assert_eq!(haiku.family, ModelFamily::AnthropicClaude);

    let express = c.model("amazon.titan-text-express-v1").unwrap();
    assert_eq!(express.name, "Titan Text G1 - Express");

    let titan = c.model("amazon.titan-embed-text-v2:0").unwrap();
    assert_eq!(titan.name, "Titan Text Embeddings V2");
    assert!(titan.is_embedding() && !titan.converse && !titan.count_tokens);
    let dims = titan.embedding_dimensions.as_ref().unwrap();
    assert_eq!(dims.default, 1024);
    assert_eq!(dims.allowed, vec![256, 512, 1024]);
    assert_eq!(
        c.model("cohere.embed-v4:0")
            .unwrap()
            .embedding_dimensions
            .as_ref()
            .unwrap()
            .default,
        1536
    );

    let canvas = c.model("amazon.nova-canvas-v1:0").unwrap();
    assert_eq!(canvas.output_modalities, vec![Modality::Image]);
    assert!(!canvas.converse);

    assert_eq!(
        c.model("anthropic.claude-3-7-sonnet-20250219-v1:0")
            .unwrap()
            .lifecycle,
        LifecycleStatus::Legacy
    );
    assert_eq!(
        c.model("anthropic.claude-3-5-haiku-20241022-v1:0")
            .unwrap()
            .lifecycle,
        LifecycleStatus::EndOfLife
    );

    for (id, family) in [
        ("mistral.mistral-large-2402-v1:0", ModelFamily::Mistral),
        ("mistral.pixtral-large-2502-v1:0", ModelFamily::MistralChat),
        ("cohere.command-r-plus-v1:0", ModelFamily::CohereCommandR),
        ("cohere.embed-english-v3", ModelFamily::CohereEmbed),
        ("openai.gpt-oss-120b-1:0", ModelFamily::OpenAi),
        ("qwen.qwen3-32b-v1:0", ModelFamily::Qwen),
        ("deepseek.r1-v1:0", ModelFamily::DeepSeek),
        ("ai21.jamba-1-5-large-v1:0", ModelFamily::Ai21Jamba),
        ("meta.llama3-8b-instruct-v1:0", ModelFamily::MetaLlama),
        ("amazon.nova-canvas-v1:0", ModelFamily::AmazonNovaCanvas),
        ("amazon.titan-text-express-v1", ModelFamily::AmazonTitanText),
        (
            "amazon.titan-embed-text-v2:0",
            ModelFamily::AmazonTitanEmbed,
        ),
    ] {
        assert_eq!(c.model(id).unwrap().family, family, "{id}");
    }

    for m in &c.models {
        let third_party = matches!(m.provider.as_str(), "Anthropic" | "Cohere" | "AI21 Labs");
        assert_eq!(m.marketplace, third_party, "{}", m.id);
        assert_eq!(m.use_case_form, m.provider == "Anthropic", "{}", m.id);
        if m.is_embedding() {
            assert!(m.embedding_dimensions.is_some() && !m.converse, "{}", m.id);
        }
    }
}

#[test]
fn inference_types_and_listing() {
    let c = catalog();
    let lite = c.model("amazon.nova-lite-v1:0").unwrap();
    assert_eq!(lite.inference_types("us-east-1"), vec!["ON_DEMAND"]);
    assert_eq!(lite.inference_types("us-east-2"), vec!["INFERENCE_PROFILE"]);
    assert!(lite.inference_types("af-south-1").is_empty());

    // INFERENCE_PROFILE-only everywhere.
    let s45 = c
        .model("anthropic.claude-sonnet-4-5-20250929-v1:0")
        .unwrap();
    assert!(s45.on_demand_regions.is_empty());
    assert_eq!(s45.inference_types("us-east-1"), vec!["INFERENCE_PROFILE"]);

    let in_use1: Vec<&str> = c
        .models_in_region("us-east-1")
        .map(|m| m.id.as_str())
        .collect();
    assert!(in_use1.contains(&"amazon.nova-lite-v1:0"));
    assert!(in_use1.contains(&"anthropic.claude-3-7-sonnet-20250219-v1:0"));
    let in_usw2: Vec<&str> = c
        .models_in_region("us-west-2")
        .map(|m| m.id.as_str())
        .collect();
    assert!(!in_usw2.contains(&"amazon.nova-canvas-v1:0"));
    assert_eq!(c.models_in_region("moon-1").count(), 0);

    let from_use1: Vec<&str> = c
        .profiles_in_region("us-east-1")
        .map(|p| p.id.as_str())
        .collect();
    assert!(from_use1.contains(&"us.amazon.nova-lite-v1:0"));
    assert!(from_use1.contains(&"global.anthropic.claude-sonnet-4-5-20250929-v1:0"));
    assert!(!from_use1.iter().any(|id| id.starts_with("eu.")));
}

#[test]
fn arns() {
    let c = catalog();
    let m = c.model("amazon.nova-pro-v1:0").unwrap();
    assert_eq!(
        m.arn("ap-southeast-1"),
        "arn:aws:bedrock:ap-southeast-1::foundation-model/amazon.nova-pro-v1:0"
    );
    assert_eq!(
        m.arn("us-gov-west-1"),
        "arn:aws-us-gov:bedrock:us-gov-west-1::foundation-model/amazon.nova-pro-v1:0"
    );
    let p = c
        .profile("us.anthropic.claude-3-haiku-20240307-v1:0")
        .unwrap();
    assert_eq!(
        p.arn("us-east-2", "684681096900"),
        "arn:aws:bedrock:us-east-2:684681096900:inference-profile/us.anthropic.claude-3-haiku-20240307-v1:0"
    );
    // Real ListInferenceProfiles output (bedrock-facts S12).
    assert_eq!(p.name, "US Anthropic Claude 3 Haiku");
    assert_eq!(
        p.description,
        "Routes requests to Anthropic Claude 3 Haiku in us-east-1, us-west-2 and us-east-2."
    );
    assert_eq!(
        p.model_arns(),
        vec![
            "arn:aws:bedrock:us-east-1::foundation-model/anthropic.claude-3-haiku-20240307-v1:0",
            "arn:aws:bedrock:us-west-2::foundation-model/anthropic.claude-3-haiku-20240307-v1:0",
            "arn:aws:bedrock:us-east-2::foundation-model/anthropic.claude-3-haiku-20240307-v1:0",
        ]
    );
    let g = c
        .profile("global.anthropic.claude-sonnet-4-5-20250929-v1:0")
        .unwrap();
    assert!(g.global);
    assert_eq!(g.name, "Global Claude Sonnet 4.5");
    assert!(!c.profile("us.amazon.nova-lite-v1:0").unwrap().global);
}

#[test]
fn embedded_text_round_trips() {
    let again = bg_catalog::Catalog::from_toml_str(bg_catalog::embedded_toml()).unwrap();
    assert_eq!(again.models, catalog().models);
    assert_eq!(again.profiles, catalog().profiles);
}

/// `catalog()` loads the JSON that `build.rs` made of `data/catalog.toml`: the same values as the
/// TOML text, field for field.
#[test]
fn the_build_time_json_holds_what_the_toml_text_holds() {
    let from_toml = bg_catalog::Catalog::from_toml_str(bg_catalog::embedded_toml()).unwrap();
    let c = catalog();
    assert_eq!(c.meta, from_toml.meta);
    assert_eq!(c.partitions, from_toml.partitions);
    assert_eq!(c.regions, from_toml.regions);
    assert_eq!(c.models, from_toml.models);
    assert_eq!(c.profiles, from_toml.profiles);
    assert_eq!(c.quotas, from_toml.quotas);
}
