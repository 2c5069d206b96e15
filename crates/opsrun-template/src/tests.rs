//! End-to-end tests of the engine: parse + render against a fixed set of
//! variables, one data-driven table per topic, all through `check`.

use indexmap::IndexMap;

use super::{EmptyScope, Host, Scope, SystemHost, Template, TemplateError, TemplateErrorKind, Value};

/// The variables every table renders against.
fn vars() -> IndexMap<String, Value> {
    let mut inner = IndexMap::new();
    inner.insert("deep".to_owned(), Value::from("d"));
    let mut nested = IndexMap::new();
    nested.insert("inner".to_owned(), Value::Map(inner));
    let mut map = IndexMap::new();
    map.insert("y".to_owned(), Value::from("two"));
    map.insert("x".to_owned(), Value::Int(1));
    let list = Value::List(vec!["a".into(), "b".into(), "c".into()]);
    [
        ("NAME", Value::from("web")),
        ("VERSION", Value::from("1.2.3")),
        ("EMPTY", Value::from("")),
        ("CLI_ARGS", Value::from("--force -v")),
        ("A", Value::from("my-app")),
        ("NODES", Value::from("10.0.0.1,10.0.0.2")),
        ("N", Value::Int(3)),
        ("ZERO", Value::Int(0)),
        ("F", Value::Float(1.5)),
        ("T", Value::Bool(true)),
        ("FALSE", Value::Bool(false)),
        ("NIL", Value::Nil),
        ("LIST", list),
        ("NO_ITEMS", Value::List(Vec::new())),
        ("MAP", Value::Map(map)),
        ("NESTED", Value::Map(nested)),
        ("SPACED", Value::from("  padded \n")),
        ("OS_NAME", Value::from("darwin")),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect()
}

fn render(src: &str) -> Result<String, TemplateError> {
    Template::parse(src)?.render(&mut vars(), &SystemHost)
}

/// Renders `src` against `vars` and compares with `expected`.
#[track_caller]
fn check(src: &str, vars: &mut dyn Scope, expected: &str) {
    let template = Template::parse(src).unwrap_or_else(|e| panic!("parse {src:?}: {e} at {}", e.offset));
    match template.render(vars, &SystemHost) {
        Ok(out) => assert_eq!(out, expected, "rendering {src:?}"),
        Err(e) => panic!("render {src:?}: {e} at {}", e.offset),
    }
}

#[track_caller]
fn check_table(cases: &[(&str, &str)]) {
    for (src, expected) in cases {
        check(src, &mut vars(), expected);
    }
}

/// Expects `src` to fail (at parse or render) with `kind` at `offset`.
#[track_caller]
fn check_err(src: &str, kind: &TemplateErrorKind, offset: usize) {
    let err = render(src).expect_err(src);
    assert_eq!(&err.kind, kind, "error kind for {src:?}");
    assert_eq!(err.offset, offset, "offset for {src:?} ({err})");
    assert!(err.len >= 1 && err.offset + err.len <= src.len().max(1), "span for {src:?}");
}

fn syntax_err(src: &str, offset: usize, message_part: &str) {
    let err = Template::parse(src).expect_err(src);
    let TemplateErrorKind::Syntax(message) = &err.kind else {
        panic!("{src:?}: expected a syntax error, got {:?}", err.kind);
    };
    assert!(message.contains(message_part), "{src:?}: {message:?} lacks {message_part:?}");
    assert_eq!(err.offset, offset, "offset for {src:?} ({message})");
    assert!(err.len >= 1, "{src:?}");
}

#[test]
fn text_and_fields() {
    check_table(&[
        ("", ""),
        ("plain text", "plain text"),
        ("}} stray", "}} stray"),
        ("{{.NAME}}", "web"),
        ("a {{.NAME}} b", "a web b"),
        ("{{ .NAME }}", "web"),
        ("{{$.NAME}}", "web"),
        ("{{.N}} {{.F}} {{.T}} {{.NIL}}", "3 1.5 true "),
        ("{{.LIST}}", "[a b c]"),
        ("{{.MAP}}", "map[x:1 y:two]"),
        ("{{.MAP.y}}", "two"),
        ("{{.NESTED.inner.deep}}", "d"),
        ("{{$.NESTED.inner.deep}}", "d"),
        ("{{(.NESTED).inner.deep}}", "d"),
        ("{{\n.NAME\n}}", "web"),
    ]);
}

#[test]
fn literals() {
    check_table(&[
        (r#"{{"a\tb"}}"#, "a\tb"),
        ("{{`raw\\n`}}", "raw\\n"),
        ("{{1}} {{-2}} {{1.5}} {{0x10}} {{1e3}}", "1 -2 1.5 16 1000"),
        ("{{true}} {{false}}", "true false"),
        ("{{nil}}", ""),
        ("{{'a'}}", "97"),
        (r#"{{"\u00e9\x41"}}"#, "éA"),
    ]);
}

#[test]
fn trim_markers_and_comments() {
    check_table(&[
        ("a  {{- .NAME -}}  b", "awebb"),
        ("a  {{- .NAME}}  b", "aweb  b"),
        ("a  {{.NAME -}}\n\n  b", "a  webb"),
        ("x {{/* comment */}} y", "x  y"),
        ("x {{- /* comment */ -}} y", "xy"),
        ("{{/* multi\nline */}}z", "z"),
        ("{{-3}}", "-3"),
        ("[\n  {{- range .LIST}}\n  {{.}}\n  {{- end}}\n]", "[\n  a\n  b\n  c\n]"),
    ]);
}

#[test]
fn pipelines_and_parens() {
    check_table(&[
        ("{{.A | upper}}", "MY-APP"),
        ("{{.A | replace \"-\" \"_\" | upper}}", "MY_APP"),
        ("{{upper (replace \"-\" \"_\" .A)}}", "MY_APP"),
        ("{{.NAME | printf \"%s-%s\" \"x\"}}", "x-web"),
        ("{{(.NAME | upper) | lower}}", "web"),
        ("{{printf \"%s:%d\" (upper .NAME) (len .LIST)}}", "WEB:3"),
        ("{{((((.NAME))))}}", "web"),
        ("{{.NAME|upper}}", "WEB"),
    ]);
}

#[test]
fn conditionals() {
    check_table(&[
        ("{{if .T}}yes{{end}}", "yes"),
        ("{{if .FALSE}}yes{{end}}", ""),
        ("{{if .T}}a{{else}}b{{end}}", "a"),
        ("{{if .EMPTY}}a{{else}}b{{end}}", "b"),
        ("{{if .ZERO}}a{{else if .N}}n{{else}}c{{end}}", "n"),
        ("{{if .ZERO}}a{{else if .EMPTY}}e{{else}}c{{end}}", "c"),
        ("{{if .MISSING}}a{{else}}b{{end}}", "b"),
        ("{{if .NO_ITEMS}}a{{else}}b{{end}}", "b"),
        ("{{if .NIL}}a{{else}}b{{end}}", "b"),
        ("{{if .MAP}}a{{end}}", "a"),
        ("{{if not .T}}a{{else}}b{{end}}", "b"),
        ("{{if and .T .N}}a{{end}}", "a"),
        ("{{if or .EMPTY .MISSING}}a{{else}}b{{end}}", "b"),
        ("{{with .NAME}}[{{.}}]{{end}}", "[web]"),
        ("{{with .MISSING}}[{{.}}]{{else}}none{{end}}", "none"),
        ("{{with .NESTED.inner}}{{.deep}}{{end}}", "d"),
        ("{{with .EMPTY}}a{{else with .NAME}}{{.}}{{end}}", "web"),
        ("{{with $x := .NAME}}{{$x}}{{.}}{{end}}", "webweb"),
        ("{{if $v := .N}}{{$v}}{{else}}{{$v}}{{end}}", "3"),
        ("{{if .T}}{{if .FALSE}}x{{else}}inner{{end}}{{end}}", "inner"),
    ]);
}

#[test]
fn ranges() {
    check_table(&[
        ("{{range .LIST}}{{.}},{{end}}", "a,b,c,"),
        ("{{range $i, $e := .LIST}}{{$i}}={{$e}} {{end}}", "0=a 1=b 2=c "),
        ("{{range $e := .LIST}}{{$e}}{{end}}", "abc"),
        ("{{range $k, $v := .MAP}}{{$k}}:{{$v}};{{end}}", "x:1;y:two;"),
        ("{{range .NO_ITEMS}}x{{else}}empty{{end}}", "empty"),
        ("{{range .MISSING}}x{{else}}none{{end}}", "none"),
        ("{{range .LIST}}{{if eq . \"b\"}}{{break}}{{end}}{{.}}{{end}}", "a"),
        ("{{range .LIST}}{{if eq . \"b\"}}{{continue}}{{end}}{{.}}{{end}}", "ac"),
        ("{{range $i := .N}}{{$i}}{{end}}", "012"),
        ("{{range .LIST}}{{$.NAME}}{{end}}", "webwebweb"),
        ("{{range .LIST}}{{range $.LIST}}{{.}}{{end}}|{{end}}", "abc|abc|abc|"),
        ("{{$n := 0}}{{range .LIST}}{{$n = add $n 1}}{{end}}{{$n}}", "3"),
    ]);
}

#[test]
fn variables() {
    check_table(&[
        ("{{$x := .NAME}}{{$x}}", "web"),
        ("{{$x := 1}}{{$x = 2}}{{$x}}", "2"),
        ("{{$x := .NESTED}}{{$x.inner.deep}}", "d"),
        ("{{$r := $}}{{$r.NAME}}", "web"),
    ]);
    // `$` alone is the root map, which cannot be printed.
    let err = render("{{$}}").expect_err("root map");
    assert!(matches!(err.kind, TemplateErrorKind::Eval(_)), "{err:?}");
}

#[test]
fn comparison_functions() {
    check_table(&[
        (r#"{{eq .NAME "web"}}"#, "true"),
        (r#"{{eq .NAME "x" "y" "web"}}"#, "true"),
        (r#"{{eq .NAME "x"}}"#, "false"),
        (r#"{{ne .NAME "x"}}"#, "true"),
        ("{{eq .N 3}} {{eq .N 3.0}} {{eq .F 1.5}}", "true true true"),
        (r#"{{eq .MISSING ""}} {{ne .MISSING "x"}} {{eq .MISSING .EMPTY}}"#, "true true true"),
        ("{{lt 1 2}} {{le 2 2}} {{gt 3 2}} {{ge 1 2}}", "true true true false"),
        (r#"{{lt "a" "b"}} {{gt 1.5 1}}"#, "true true"),
        ("{{and 1 0 2}} {{and 1 2}} {{or 0 \"\" 3}} {{or 0 \"\"}}", "0 2 3 "),
        ("{{not 0}} {{not .NAME}}", "true false"),
        ("{{.N | eq 3}}", "true"),
    ]);
}

#[test]
fn default_and_emptiness() {
    check_table(&[
        (r#"{{.VERSION | default "1.0"}}"#, "1.2.3"),
        (r#"{{.MISSING | default "1.0"}}"#, "1.0"),
        (r#"{{.EMPTY | default "1.0"}}"#, "1.0"),
        (r#"{{default "d" .MISSING}}"#, "d"),
        (r#"{{.MISSING | upper | default "x"}}"#, "x"),
        ("{{empty .EMPTY}} {{empty .NAME}} {{empty .MISSING}} {{empty .NO_ITEMS}}", "true false true true"),
        (r#"{{coalesce .MISSING .EMPTY "c" "d"}}"#, "c"),
        (r#"{{ternary "y" "n" .T}} {{ternary "y" "n" .MISSING}}"#, "y n"),
        (r#"{{.T | ternary "y" "n"}}"#, "y"),
    ]);
}

#[test]
fn string_functions() {
    check_table(&[
        ("{{lower \"ABC\"}} {{upper .NAME}} {{title \"hello big-world\"}}", "abc WEB Hello Big-World"),
        ("[{{trim .SPACED}}] [{{trimSpace .SPACED}}]", "[padded] [padded]"),
        (r#"{{trimPrefix "v" "v1.0"}} {{trimSuffix ".0" "v1.0"}} {{trimAll "-" "--x--"}}"#, "1.0 v1 x"),
        (r#"{{replace "." "_" .VERSION}}"#, "1_2_3"),
        (r#"{{contains "eb" .NAME}} {{hasPrefix "w" .NAME}} {{hasSuffix "x" .NAME}}"#, "true true false"),
        (r#"{{splitList "," .NODES}}"#, "[10.0.0.1 10.0.0.2]"),
        (r#"{{(split "." .VERSION)._1}}"#, "2"),
        (r#"{{split "." .VERSION}}"#, "map[_0:1 _1:2 _2:3]"),
        (r#"{{join "-" .LIST}} {{.LIST | join ","}}"#, "a-b-c a,b,c"),
        (r#"{{quote .NAME}} {{squote .NAME}} {{quote "a\"b"}}"#, r#""web" 'web' "a\"b""#),
        ("{{toString .N}}{{toString .T}}", "3true"),
        (r#"{{repeat 3 "ab"}}"#, "ababab"),
        (r#"{{indent 2 "a\nb"}}|{{nindent 1 "x"}}"#, "  a\n  b|\n x"),
        (r#"{{shellQuote "it's here"}} {{shellQuote .NAME}} {{shellQuote .LIST}}"#, r"'it'\''s here' web a b c"),
        (r#"{{q "a b"}}"#, "'a b'"),
        (r#"{{catLines "a\nb\r\nc"}} {{splitLines "a\nb"}}"#, "a b c [a b]"),
    ]);
}

#[test]
fn printing_functions() {
    check_table(&[
        (r#"{{printf "%s-%d" .NAME 3}}"#, "web-3"),
        (r#"{{printf "%5s|%-5s|%05.1f" "a" "b" 1.23456}}"#, "    a|b    |001.2"),
        (r#"{{printf "%v %q %t %x %%" .LIST .NAME .T 255}}"#, r#"[a b c] "web" true ff %"#),
        (r#"{{printf "%d" .N}}"#, "3"),
        (r#"{{print "a" "b" 1 2 "c"}}"#, "ab1 2c"),
        (r#"{{println "a" 1}}"#, "a 1\n"),
    ]);
}

#[test]
fn collection_functions() {
    check_table(&[
        ("{{len .LIST}} {{len .NAME}} {{len .MAP}} {{len .MISSING}}", "3 3 2 0"),
        ("{{index .LIST 1}}", "b"),
        (r#"{{index .MAP "y"}} {{index .NESTED "inner" "deep"}}"#, "two d"),
        ("{{first .LIST}} {{last .LIST}} {{first .NO_ITEMS}}", "a c "),
        (r#"{{list 1 "a" .T}} {{list | len}}"#, "[1 a true] 0"),
        (r"{{toJson .LIST}} {{toJson .MAP}}", r#"["a","b","c"] {"x":1,"y":"two"}"#),
        (r#"{{(fromJson "{\"k\":[1,2]}").k}}"#, "[1 2]"),
        ("{{add 1 2 3}} {{sub 5 7}} {{mul 2 3}} {{div 7 2}} {{mod 7 2}} {{add \"4\" 1}}", "6 -2 6 3 1 5"),
    ]);
}

#[test]
fn system_functions() {
    let os = if cfg!(target_os = "macos") { "darwin" } else { std::env::consts::OS };
    check(r"{{OS}}", &mut EmptyScope, os);
    check(r#"{{if eq OS "linux" "darwin" "windows" "freebsd"}}known{{end}}"#, &mut EmptyScope, "known");
    let arch = Template::parse("{{ARCH}}").and_then(|t| t.render(&mut EmptyScope, &SystemHost)).expect("ARCH");
    assert!(!arch.is_empty() && arch != "x86_64" && arch != "aarch64", "{arch}");
    check("{{exeExt}}", &mut EmptyScope, std::env::consts::EXE_SUFFIX);
    check(r#"{{env "OPSRUN_TEMPLATE_SURELY_UNSET_VAR"}}"#, &mut EmptyScope, "");
    let path = std::env::var("PATH").unwrap_or_default();
    check(r#"{{env "PATH"}}"#, &mut EmptyScope, &path);
    check(r#"{{joinPath "a" "b/../c" "d"}}"#, &mut EmptyScope, "a/c/d");
    let cpus: i64 = Template::parse("{{numCPU}}")
        .and_then(|t| t.render(&mut EmptyScope, &SystemHost))
        .expect("numCPU")
        .parse()
        .expect("a number");
    assert!(cpus >= 1);
}

#[test]
fn dates() {
    let year = render(r#"{{now | date "2006"}}"#).expect("date");
    assert!(year.len() == 4 && year.bytes().all(|b| b.is_ascii_digit()), "{year}");
    let day = render(r#"{{now | date "2006-01-02 15:04:05"}}"#).expect("date");
    assert_eq!(day.len(), 19, "{day}");
    // Unix seconds and RFC 3339 strings are accepted; mid-year keeps the year
    // stable in every time zone.
    check_table(&[
        (r#"{{date "2006" 1700000000}}"#, "2023"),
        (r#"{{date "2006/01" "2024-05-06T07:08:09Z"}}"#, "2024/05"),
    ]);
    // The default print of a time is Go's `time.Time.String` layout.
    let printed = render("{{now}}").expect("now");
    assert!(printed.starts_with(&year), "{printed}");
}

/// A machine that is not this one: a fixed clock in a fixed zone, a fake
/// environment and another platform.
struct FakeHost {
    env: IndexMap<String, String>,
    now: jiff::Zoned,
}

impl Host for FakeHost {
    fn env(&self, name: &str) -> Option<String> {
        self.env.get(name).cloned()
    }

    fn now(&self) -> jiff::Zoned {
        self.now.clone()
    }

    fn os(&self) -> &'static str {
        "plan9"
    }

    fn arch(&self) -> &'static str {
        "riscv64"
    }

    fn exe_suffix(&self) -> &'static str {
        ".bin"
    }

    fn num_cpu(&self) -> usize {
        7
    }
}

#[test]
fn host_facts_come_from_the_injected_host() {
    let host = FakeHost {
        env: IndexMap::from([("CLUSTER".to_owned(), "home-ops".to_owned())]),
        // A POSIX zone, so the test does not depend on the system's time zone database.
        now: "2024-02-29T14:30:00Z"
            .parse::<jiff::Timestamp>()
            .expect("a timestamp")
            .to_zoned(jiff::tz::TimeZone::posix("JST-9").expect("a POSIX zone")),
    };
    for (src, want) in [
        (r#"{{env "CLUSTER"}}"#, "home-ops"),
        // Unset in the fake environment, whatever the process has.
        (r#"{{env "PATH"}}|{{env "HOME" | default "none"}}"#, "|none"),
        (r#"{{now | date "2006-01-02 15:04 MST"}}"#, "2024-02-29 23:30 JST"),
        ("{{now}}", "2024-02-29 23:30:00 +0900 JST"),
        // Unix seconds are shown in the host's zone (the zone of its clock).
        (r#"{{date "2006-01-02 15:04" 0}}"#, "1970-01-01 09:00"),
        ("{{OS}}/{{ARCH}} app{{exeExt}} x{{numCPU}}", "plan9/riscv64 app.bin x7"),
    ] {
        let template = Template::parse(src).expect(src);
        assert_eq!(template.render(&mut EmptyScope, &host).expect(src), want, "{src:?}");
    }
}

/// Idioms lifted from real Taskfiles.
#[test]
fn taskfile_idioms() {
    check_table(&[
        ("{{.CLI_ARGS}}", "--force -v"),
        (r#"{{.VERSION | default "1.0"}}"#, "1.2.3"),
        (r#"{{.UNSET_VERSION | default "1.0"}}"#, "1.0"),
        (r#"{{if eq .OS_NAME "darwin"}}mac{{else}}other{{end}}"#, "mac"),
        (
            r#"{{range $n := .NODES | splitList ","}}talosctl -n {{$n}} ;{{end}}"#,
            "talosctl -n 10.0.0.1 ;talosctl -n 10.0.0.2 ;",
        ),
        (r#"{{printf "%s-%d" .NAME 3}}"#, "web-3"),
        (r#"{{.A | replace "-" "_" | upper}}"#, "MY_APP"),
        ("{{index .LIST 1}}", "b"),
        (r"kubectl {{if .CONTEXT}}--context {{.CONTEXT}} {{end}}get pods", "kubectl get pods"),
        (r#"{{- range $i, $n := splitList "," .NODES }}{{if $i}} {{end}}{{$n}}{{end -}}"#, "10.0.0.1 10.0.0.2"),
        (r#"{{.CLI_ARGS | splitList " " | first}}"#, "--force"),
        (r#"{{if and (ne .NAME "") (not .MISSING)}}deploy {{.NAME}}{{end}}"#, "deploy web"),
    ]);
}

#[test]
fn undefined_variables_error_when_printed() {
    let undefined = |name: &str| TemplateErrorKind::UndefinedVariable(name.to_owned());
    check_err("{{.VERSION_X}}", &undefined("VERSION_X"), 0);
    check_err("abc {{ .MISSING | upper }}", &undefined("MISSING"), 4);
    check_err(r#"x{{printf "%s" .MISSING}}"#, &undefined("MISSING"), 1);
    check_err("{{.MAP.nope}}", &undefined("MAP.nope"), 0);
    check_err("{{.MISSING.deeper}}", &undefined("MISSING"), 0);
    check_err(
        "{{range .LIST}}{{.field}}{{end}}",
        &TemplateErrorKind::Eval("cannot read field `field` of a string value".into()),
        17,
    );
    check_err("{{list 1 .MISSING}}", &undefined("MISSING"), 0);
    check_err("{{if .T}}\n  {{.NOPE}}{{end}}", &undefined("NOPE"), 12);
    check_err("{{lt .MISSING 3}}", &undefined("MISSING"), 2);
    let err = render("{{.VERSOIN}}").expect_err("undefined");
    assert_eq!(err.to_string(), "undefined variable `VERSOIN`");
    assert_eq!(err.span(), 0..12);
}

#[test]
fn function_errors() {
    let err = render("{{.NAME | uper}}").expect_err("unknown");
    assert_eq!(err.kind, TemplateErrorKind::UnknownFunction { name: "uper".into(), suggestion: Some("upper".into()) });
    assert_eq!((err.offset, err.len), (10, 4));
    assert_eq!(err.to_string(), "unknown function `uper` (did you mean `upper`?)");
    let err = render("{{frobnicate 1}}").expect_err("unknown");
    assert_eq!(err.to_string(), "unknown function `frobnicate`");

    let err = render("{{index .LIST 5}}").expect_err("out of range");
    assert!(matches!(&err.kind, TemplateErrorKind::Function { name, .. } if name == "index"), "{err:?}");
    assert_eq!(err.offset, 2);
    assert_eq!(err.to_string(), "error calling `index`: index out of range: 5 (length 3)");

    let err = render(r#"{{upper "a" "b"}}"#).expect_err("arity");
    assert_eq!(err.to_string(), "error calling `upper`: wrong number of arguments: expected 1, got 2");
    let err = render(r"{{eq .NAME 3}}").expect_err("types");
    assert!(err.to_string().contains("incompatible types for comparison: string and int"), "{err}");
    let err = render("{{div 1 0}}").expect_err("div");
    assert!(err.to_string().contains("division by zero"), "{err}");

    let err = render(r#"ok {{fail "VERSION is required"}}"#).expect_err("fail");
    assert_eq!(err.kind, TemplateErrorKind::Fail("VERSION is required".into()));
    assert_eq!(err.offset, 5);
    check_table(&[(r#"{{if not .T}}{{fail "unreachable"}}{{end}}ok"#, "ok")]);

    let err = render("{{range .N.x}}{{end}}").expect_err("field of int");
    assert!(matches!(err.kind, TemplateErrorKind::Eval(_)), "{err:?}");
    let err = render("{{range .T}}{{end}}").expect_err("range bool");
    assert_eq!(err.to_string(), "cannot range over a bool value");
}

#[test]
fn lookup_errors_propagate() {
    struct Failing;
    impl Scope for Failing {
        fn lookup(&mut self, name: &str) -> Result<Option<Value>, String> {
            if name == "BAD" { Err("cycle: BAD -> BAD".to_owned()) } else { Ok(Some(Value::from("ok"))) }
        }
    }
    let template = Template::parse("{{.GOOD}} {{.BAD | default \"x\"}}").expect("parses");
    let err = template.render(&mut Failing, &SystemHost).expect_err("lookup fails");
    assert_eq!(err.kind, TemplateErrorKind::Lookup { name: "BAD".into(), message: "cycle: BAD -> BAD".into() });
    assert_eq!((err.offset, err.len), (12, 4));
}

#[test]
fn syntax_errors() {
    syntax_err("abc {{.NAME", 4, "unclosed action");
    syntax_err("{{ \"abc }}", 3, "unterminated string");
    syntax_err("{{ `abc }}", 3, "unterminated raw string");
    syntax_err("ok {{end}}", 3, "unexpected `{{end}}`");
    syntax_err("ok {{else}}", 3, "unexpected `{{else}}`");
    syntax_err("{{if .T}}x", 0, "unclosed `if`");
    syntax_err("{{range .LIST}}x{{else}}", 0, "unclosed `range`");
    syntax_err("{{if .T}}{{else}}{{else}}{{end}}", 17, "after `{{else}}`");
    syntax_err("{{if}}{{end}}", 0, "missing value for `if`");
    syntax_err("{{}}", 0, "empty action");
    syntax_err("{{.A | }}", 5, "missing command after `|`");
    syntax_err("{{(.A}}", 2, "unclosed `(`");
    syntax_err("{{.A)}}", 4, "unexpected `)`");
    syntax_err("{{.A .B}}", 5, "only a function can take arguments");
    syntax_err("{{.A | .B}}", 7, "cannot pipe into a value");
    syntax_err("{{3x}}", 2, "bad number syntax");
    syntax_err("{{ # }}", 3, "unexpected character");
    syntax_err("{{break}}", 0, "outside `range`");
    syntax_err("{{define \"x\"}}{{end}}", 2, "not supported");
    syntax_err("{{/* open", 0, "unclosed comment");
    syntax_err("{{/* c */ .X}}", 0, "comment ends before closing delimiter");
    syntax_err(r#"{{"a\qb"}}"#, 4, "invalid escape");
    syntax_err("{{$x, $y := .LIST}}", 2, "too many variables");
    syntax_err("{{\"a\"\"b\"}}", 5, "missing space");
    syntax_err("{{\"a\".B}}", 5, "fields can only follow");
    syntax_err("{{end 1}}", 6, "unexpected number `1` after `end`");

    let undefined = |name: &str| TemplateErrorKind::UndefinedVariable(name.to_owned());
    check_err("{{$nope}}", &undefined("$nope"), 2);
    check_err("{{$x = 1}}", &undefined("$x"), 2);
    // Variables are scoped to their block.
    check_err("{{if .T}}{{$x := 1}}{{end}}{{$x}}", &undefined("$x"), 29);
}

#[test]
fn referenced_vars() {
    for (src, want) in [
        ("plain", vec![]),
        ("{{.A}} {{.B | default .C}} {{.A}}", vec!["A", "B", "C"]),
        ("{{$.X.y}} {{(.P).q}}", vec!["X", "P"]),
        ("{{if .COND}}{{.IN_IF}}{{else}}{{.IN_ELSE}}{{end}}", vec!["COND", "IN_IF", "IN_ELSE"]),
        ("{{with .W}}{{.field}}{{$.ROOT}}{{else}}{{.ELSE}}{{end}}", vec!["W", "ROOT", "ELSE"]),
        ("{{range .L}}{{.elem}}{{$.R}}{{end}}", vec!["L", "R"]),
        ("{{$x := .V}}{{$x.notroot}}", vec!["V"]),
    ] {
        let template = Template::parse(src).expect(src);
        assert_eq!(template.referenced_vars(), want, "{src:?}");
    }
}

#[test]
fn literal_fast_path() {
    let template = Template::parse("no actions } here {").expect("parses");
    assert!(template.is_literal());
    assert_eq!(template.render(&mut EmptyScope, &SystemHost).expect("renders"), "no actions } here {");
    assert!(!Template::parse("{{.X}}").expect("parses").is_literal());
    // A comment is an action too: not literal, but renders to the text around it.
    assert!(!Template::parse("a{{/* c */}}").expect("parses").is_literal());
}

#[test]
fn parse_once_render_many() {
    let template = Template::parse("{{.NAME}}-{{.N}}").expect("parses");
    let mut scope = vars();
    for _ in 0..3 {
        assert_eq!(template.render(&mut scope, &SystemHost).expect("renders"), "web-3");
    }
    scope.insert("NAME".into(), "api".into());
    assert_eq!(template.render(&mut scope, &SystemHost).expect("renders"), "api-3");
}

#[test]
fn error_spans_stay_inside_the_source() {
    for src in ["{{", "{{.", "{{ \"", "{{if}}", "{{ (", "x{{-", "{{- -}}", "{{`", "{{'", "{{'ab'}}", "{{/*", "{{$"] {
        if let Err(e) = Template::parse(src) {
            assert!(e.offset < src.len() && e.len >= 1, "{src:?}: {e:?}");
        }
    }
}

/// Feeds fragments of tricky input (and random splices of them) to the parser
/// and renderer; none may panic. Deterministic: a fixed xorshift seed.
#[test]
fn no_panic_on_garbage() {
    const PIECES: &[&str] = &[
        "{{",
        "}}",
        "{{-",
        " -}}",
        "{{.",
        "{{ \"",
        "\"",
        "`",
        "'",
        "(",
        ")",
        "((((",
        "))))",
        "{{if}}",
        "{{if .T}}",
        "{{else}}",
        "{{else if .X}}",
        "{{end}}",
        "{{range .LIST}}",
        "{{with .X}}",
        "|",
        " | ",
        "$",
        "$x",
        ":=",
        "=",
        ",",
        ".A.B",
        ".",
        "printf",
        "\"%d\"",
        "index",
        " 1 ",
        "-1",
        "0x",
        "1e",
        "\\",
        "\\u",
        "é",
        "🦀",
        "/*",
        "*/",
        "{{/*",
        "upper",
        "default",
        " ",
        "\n",
        "{{break}}",
        "{{$x := 1}}",
        "{{range $i, $e := .LIST}}",
        "{{.MISSING}}",
        "nil",
        "true",
        "{{ . }}",
        "_2006",
        "date",
    ];
    let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    for _ in 0..5000 {
        let count = next() % 12 + 1;
        let mut src = String::new();
        for _ in 0..count {
            let i = usize::try_from(next() % PIECES.len() as u64).unwrap_or(0);
            src.push_str(PIECES[i]);
        }
        if let Ok(template) = Template::parse(&src) {
            let _ = template.render(&mut vars(), &SystemHost);
            let _ = template.referenced_vars();
        } else if let Err(e) = Template::parse(&src) {
            assert!(e.offset <= src.len(), "{src:?}: {e:?}");
        }
    }
    // Every prefix of a complex template.
    let complex = r#"{{- range $i, $n := .NODES | splitList "," }}{{if $i}} {{else if eq $n "x"}}{{end}}{{printf "%5.2f|%-3s|%q" 1.5 $n (index $.LIST 0)}}{{/* c */}}{{end -}}"#;
    for end in 0..=complex.len() {
        if let Some(prefix) = complex.get(..end)
            && let Ok(template) = Template::parse(prefix)
        {
            let _ = template.render(&mut vars(), &SystemHost);
        }
    }
}

#[test]
fn deep_nesting_is_rejected_not_overflowed() {
    let deep = format!("{{{{{}.NAME{}}}}}", "(".repeat(5000), ")".repeat(5000));
    assert!(Template::parse(&deep).is_err());
    let deep_ifs = format!("{}x{}", "{{if .T}}".repeat(5000), "{{end}}".repeat(5000));
    assert!(Template::parse(&deep_ifs).is_err());
    let ok = format!("{{{{{}.NAME{}}}}}", "(".repeat(50), ")".repeat(50));
    assert_eq!(render(&ok).expect("moderate nesting"), "web");
}

#[test]
fn runaway_templates_are_bounded_errors() {
    let err = |src: &str| {
        let t = Template::parse(src).unwrap();
        t.render(&mut EmptyScope, &crate::SystemHost).unwrap_err().to_string()
    };
    let ok = |src: &str| Template::parse(src).unwrap().render(&mut EmptyScope, &crate::SystemHost).unwrap();
    assert_eq!(ok(r#"{{printf "%.999999999f" 1.0}}"#), "%!(BADPREC)1.000000");
    assert_eq!(ok(r#"{{printf "%999999999d" 1}}"#), "%!(BADWIDTH)1");
    assert!(err("{{range 100000000000}}x{{end}}").contains("more than"));
    assert!(err("{{range 3000}}{{range 3000}}{{end}}{{end}}").contains("steps"));
    assert!(err(r#"{{range 2000}}{{repeat 4096 "x"}}{{end}}"#).contains("MiB"));
    // Ordinary templates are nowhere near the bounds.
    let t = Template::parse(r#"{{range 1000}}{{printf "%05d " .}}{{end}}"#).unwrap();
    assert_eq!(t.render(&mut EmptyScope, &crate::SystemHost).unwrap().len(), 6000);
}

#[test]
fn every_undefined_variable_that_is_printed_is_reported() {
    let template = Template::parse("{{.A}} and {{.B}}{{if .C}}{{end}} and {{.A}}").expect("parses");
    let errors = template.render_all(&mut EmptyScope, &SystemHost).expect_err("undefined");
    let names: Vec<String> = errors
        .iter()
        .map(|e| match &e.kind {
            TemplateErrorKind::UndefinedVariable(name) => name.clone(),
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(names, ["A", "B", "A"]);
    assert_eq!(errors[1].offset, "{{.A}} and ".len());
    // `render` keeps its contract: the first error.
    assert_eq!(template.render(&mut EmptyScope, &SystemHost).expect_err("undefined"), errors[0]);
}

#[test]
fn lenient_rendering_prints_undefined_variables_as_nothing_and_names_them() {
    let template =
        Template::parse(r#"[{{.NOPE}}] [{{.NOPE.x}}] [{{upper .GONE}}] {{.V | default "d"}}"#).expect("parse");
    let rendered = template.render_lenient(&mut vars(), &SystemHost).expect("lenient render");
    let (text, undefined) = (rendered.text, rendered.undefined);
    assert_eq!(text, "[] [] [] d");
    let names: Vec<&str> = undefined.iter().map(|(name, _)| name.as_str()).collect();
    assert_eq!(names, ["NOPE", "NOPE", "GONE"]);
    assert_eq!(undefined[0].1, 1..10, "the action of the first undefined variable");
    // The strict form still refuses the same template.
    assert!(template.render(&mut vars(), &SystemHost).is_err());
}
