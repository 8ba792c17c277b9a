//! Seeding the benchmarked server: the trusted-authentication key (through the CLI, as an
//! administrator would) and a committed table and attribute (through the API, as mstrio-py would).

use std::path::Path;
use std::process::Command;

use anyhow::{bail, Context};
use serde_json::{json, Value};

/// Runs `vestibule --data-dir DIR ARGS…` and returns its standard output.
pub fn cli(binary: &Path, data_dir: &str, args: &[&str], env: &[(&str, &str)]) -> anyhow::Result<String> {
    let out = Command::new(binary)
        .arg("--data-dir")
        .arg(data_dir)
        .args(args)
        .envs(env.iter().copied())
        .output()
        .with_context(|| format!("running vestibule {}", args.join(" ")))?;
    if !out.status.success() {
        bail!(
            "vestibule {} failed: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// Enables trusted authentication and returns the secret key it prints once.
pub fn trusted_key(binary: &Path, data_dir: &str, env: &[(&str, &str)]) -> anyhow::Result<String> {
    let out = cli(binary, data_dir, &["trusted-auth", "enable"], env)?;
    out.lines()
        .map(str::trim)
        .rfind(|l| !l.is_empty() && !l.contains(' '))
        .map(str::to_string)
        .context("trusted-auth enable printed no key")
}

/// Creates and commits a table and an attribute with an ID and a DESC form; returns the
/// project id and the attribute id.
pub async fn attribute(
    binary: &Path,
    data_dir: &str,
    env: &[(&str, &str)],
    base: &str,
    headers: &[String],
) -> anyhow::Result<(String, String)> {
    let client = reqwest::Client::new();
    let with = |mut r: reqwest::RequestBuilder| {
        for h in headers {
            if let Some((k, v)) = h.split_once(": ") {
                r = r.header(k, v);
            }
        }
        r
    };
    let projects: Value = with(client.get(format!("{base}/api/projects")))
        .send()
        .await?
        .json()
        .await?;
    let project = projects[0]["id"].as_str().context("no project")?.to_string();
    let folders = cli(binary, data_dir, &["project", "folders", &project], env)?;
    let folder = folders
        .lines()
        .find(|l| l.ends_with("/Schema Objects/Attributes"))
        .and_then(|l| l.split_whitespace().next())
        .context("no Attributes folder")?
        .to_string();
    let cs: Value = with(client.post(format!("{base}/api/model/changesets?schemaEdit=true")))
        .header("X-MSTR-ProjectID", &project)
        .send()
        .await?
        .json()
        .await?;
    let cs = cs["id"].as_str().context("no changeset id")?.to_string();
    let table: Value = with(client.post(format!("{base}/api/model/tables")))
        .header("X-MSTR-MS-Changeset", &cs)
        .json(
            &json!({"information": {"name": "LU_BENCH"}, "physicalTable": {"tableName": "LU_BENCH",
            "columns": [{"columnName": "BENCH_ID", "dataType": {"type": "integer"}},
                        {"columnName": "BENCH_DESC", "dataType": {"type": "n_var_char"}}]}}),
        )
        .send()
        .await?
        .json()
        .await?;
    let table = table["information"]["objectId"]
        .as_str()
        .context("no table id")?
        .to_string();
    let t = json!({"name": "LU_BENCH", "subType": "logical_table", "objectId": table});
    let body = json!({
        "information": {"name": "Bench", "subType": "attribute", "destinationFolderId": folder},
        "forms": [
            {"name": "ID", "category": "ID", "displayFormat": "number",
             "expressions": [{"expression": {"tree": {"columnName": "BENCH_ID", "type": "column_reference"}}, "tables": [t]}],
             "lookupTable": t},
            {"name": "DESC", "category": "DESC", "displayFormat": "text",
             "expressions": [{"expression": {"tokens": [{"value": "BENCH_DESC"}]}, "tables": [t]}],
             "lookupTable": t}
        ],
        "attributeLookupTable": t,
        "keyForm": {"name": "ID"},
        "displays": {"reportDisplays": [{"name": "DESC"}], "browseDisplays": [{"name": "DESC"}]},
        "sorts": {"reportSorts": [{"form": {"name": "DESC"}, "ascending": true}]}
    });
    let attr: Value = with(client.post(format!("{base}/api/model/attributes")))
        .header("X-MSTR-MS-Changeset", &cs)
        .json(&body)
        .send()
        .await?
        .json()
        .await?;
    let attr = attr["information"]["objectId"]
        .as_str()
        .context("no attribute id")?
        .to_string();
    let commit = with(client.post(format!("{base}/api/model/changesets/{cs}/commit")))
        .json(&json!({}))
        .send()
        .await?;
    if !commit.status().is_success() {
        bail!("commit answered {}", commit.status());
    }
    Ok((project, attr))
}
