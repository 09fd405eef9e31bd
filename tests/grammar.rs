//! The grammar's examples stay in step with the parser: every line of
//! `grammar/examples.txt` parses (and round-trips through the printer), every
//! line of `grammar/counter-examples.txt` is rejected with a message.

fn lines(name: &str) -> Vec<String> {
    let path = format!("{}/grammar/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{path}: {e}"))
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(str::to_string)
        .collect()
}

#[test]
fn every_example_parses_and_round_trips() {
    let examples = lines("examples.txt");
    assert!(examples.len() >= 40);
    for line in &examples {
        let ast =
            portcullis::parse(line).unwrap_or_else(|e| panic!("`{line}`: {}", e.render(line)));
        let printed = ast.to_string();
        let again =
            portcullis::parse(&printed).unwrap_or_else(|e| panic!("printed `{printed}`: {e}"));
        assert!(
            again.same_shape(&ast),
            "`{line}` prints as `{printed}`, which parses differently"
        );
    }
}

#[test]
fn every_counter_example_is_rejected() {
    for line in lines("counter-examples.txt") {
        match portcullis::parse(&line) {
            Ok(ast) => panic!("`{line}` parsed as `{ast}`"),
            Err(e) => assert!(!e.message().is_empty()),
        }
    }
}

#[test]
fn every_expression_in_the_readme_tour_compiles() {
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    let start = readme.find("| Family | Examples |").expect("tour table");
    let end = start + readme[start..].find("\n\n").expect("end of table");
    let schema =
        portcullis::Schema::default_http().with_list("office_network", portcullis::Type::Ip);
    let compiler = portcullis::Compiler::new(&schema);
    let mut seen = 0;
    for row in readme[start..end].lines().skip(2) {
        let cells: Vec<&str> = row.split(" | ").collect();
        let examples = cells.get(1).expect("examples column");
        for (k, piece) in examples.split('`').enumerate() {
            if k % 2 == 1 {
                let text = piece.replace("\\|", "|");
                compiler
                    .compile(&text)
                    .unwrap_or_else(|e| panic!("README example `{text}`: {}", e.render(&text)));
                seen += 1;
            }
        }
    }
    assert!(seen >= 50, "only {seen} examples found");
}
