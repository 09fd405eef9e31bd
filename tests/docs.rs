//! `docs/fields.md` is the default catalogue as the engine holds it: every
//! field with its type and the format of its value, every alias and managed
//! list. This test renders it from `Schema::default_http()` and fails when
//! the file differs; `PORTCULLIS_BLESS=1 cargo test --test docs` rewrites it.

use portcullis::Schema;
use std::fmt::Write as _;
use std::path::Path;

fn render() -> String {
    let schema = Schema::default_http();
    let mut out = String::from(
        "# The default field catalogue\n\n\
         Generated from `src/catalogue.rs` by `tests/docs.rs` (which fails when this file\n\
         is out of date; `PORTCULLIS_BLESS=1 cargo test --test docs` rewrites it).\n\
         `portcullis fields` prints the same. `String` is the Bytes type; maps have\n\
         byte-string keys; arrays keep request order. A field a request does not set\n\
         is missing (`docs/language.md`); how fields are derived from a request's\n\
         raw parts, and normalised, is in `docs/language.md` too.\n\n\
         | field | type | value |\n|---|---|---|\n",
    );
    for (_, f) in schema.fields() {
        let _ = writeln!(
            out,
            "| `{}` | {} | {} |",
            f.name,
            f.ty,
            f.doc.replace('|', "\\|")
        );
    }
    out.push_str("\n## Aliases\n\n| alias | field |\n|---|---|\n");
    let mut aliases: Vec<_> = schema.aliases().collect();
    aliases.sort();
    for (alias, id) in aliases {
        if let Some(f) = schema.field(id) {
            let _ = writeln!(out, "| `{alias}` | `{}` |", f.name);
        }
    }
    out.push_str(
        "\n## Managed lists\n\nDeclared, with contents the embedder supplies (`Lists`, or\n\
         `portcullis run --lists`); empty until then, so `ip.src in $cf.vpn` is false.\n\n\
         | list | elements |\n|---|---|\n",
    );
    let mut lists: Vec<_> = schema.lists().collect();
    lists.sort_by_key(|(n, _)| *n);
    for (name, ty) in lists {
        let _ = writeln!(out, "| `${name}` | {ty} |");
    }
    out
}

#[test]
fn fields_md_is_the_catalogue() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/fields.md");
    let want = render();
    if std::env::var_os("PORTCULLIS_BLESS").is_some() {
        std::fs::write(&path, &want).unwrap();
        return;
    }
    let have = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        have == want,
        "docs/fields.md is out of date with src/catalogue.rs: run `PORTCULLIS_BLESS=1 cargo test --test docs`"
    );
}
