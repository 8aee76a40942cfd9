"""Patterns: built-ins, the forms of a spec, errors, canonical keys, inspect."""

import json
import pathlib
import subprocess

import pytest

import sieve

EXAMPLES = pathlib.Path(__file__).resolve().parents[2] / "docs" / "examples"


def test_the_package_and_the_library_agree_on_the_version():
    assert sieve.__version__ == sieve.library_version()


def test_builtins_list_their_parameters_and_defaults(sieve_tool):
    builtins = sieve.list_builtins()
    cli = subprocess.run([sieve_tool, "list"], capture_output=True, text=True, check=True)
    assert [b.name for b in builtins] == [line.split()[0] for line in cli.stdout.splitlines()]
    power = builtins[0]
    assert power.name == "power_attention" and power.block_size == 256
    window = {p.name: p for p in power.params}["window_blocks"]
    assert (window.default, window.list, window.min) == (5, False, 1)
    # The defaults spelled out are the same pattern as none at all.
    for b in builtins:
        explicit = sieve.Pattern(b.name, **{p.name: p.default for p in b.params})
        assert explicit == sieve.Pattern("builtin:" + b.name), b.name


def test_every_form_of_a_spec_names_the_same_pattern(tmp_path):
    text = '{"builtin": "power_attention", "window_blocks": 8}'
    path = tmp_path / "p.json"
    path.write_text(text)
    forms = [sieve.Pattern("power_attention", window_blocks=8),
             sieve.Pattern("builtin:power_attention", window_blocks=8),
             sieve.Pattern({"builtin": "power_attention", "window_blocks": 8}),
             sieve.Pattern({"builtin": "power_attention"}, window_blocks=8),
             sieve.Pattern(text), sieve.Pattern(path), sieve.Pattern(str(path))]
    assert len({p.key for p in forms}) == 1
    assert sieve.Pattern(forms[0]) == forms[0]
    assert sieve.Pattern("power_attention") != forms[0]
    assert forms[0].name == "power_attention"
    assert "sieve.window 8 block" in forms[0].mlir


def test_a_pattern_reports_its_block_size_and_key():
    p = sieve.Pattern({"builtin": "sliding_window", "block_size": [64, 128]})
    assert p.block_size == (64, 128)
    assert len(p.key) == 64 and int(p.key, 16) >= 0
    assert repr(p).startswith("Pattern('sliding_window', block_size=(64, 128), key=")
    # Equal patterns hash alike: usable as dict keys.
    assert {p: 1}[sieve.Pattern({"builtin": "sliding_window", "block_size": [64, 128]})] == 1


def test_mlir_files_load(tmp_path):
    mlir = sieve.Pattern("sliding_window").mlir
    path = tmp_path / "p.mlir"
    path.write_text(mlir)
    assert sieve.Pattern(path) == sieve.Pattern("sliding_window")


@pytest.mark.parametrize("spec, message", [
    ("builtin:nope", "unknown built-in 'nope'; expected one of power_attention"),
    ('{"mask": "nope"}', '<spec>: at /mask: unknown mask "nope"'),
    ('{"builtin": "power_attention", "window_blocks": 0}', "/window_blocks"),
    ("missing.json", "cannot read 'missing.json': No such file or directory"),
    ("spec.yaml", "cannot tell what 'spec.yaml' is"),
])
def test_spec_errors_carry_sieves_located_message(spec, message):
    with pytest.raises(sieve.SpecError) as e:
        sieve.Pattern(spec)
    assert message in str(e.value)
    assert isinstance(e.value, ValueError)


def test_parameters_apply_to_builtins_only(tmp_path):
    with pytest.raises(TypeError, match="parameters apply to built-ins"):
        sieve.Pattern({"mask": "causal"}, window_blocks=3)
    with pytest.raises(TypeError, match="parameters apply to built-ins"):
        sieve.Pattern(str(tmp_path / "x.json"), window_blocks=3)
    with pytest.raises(sieve.SpecError, match="nope"):
        sieve.Pattern("power_attention", nope=3)
    with pytest.raises(TypeError):
        sieve.Pattern(42)


def test_inspect_counts_what_the_formula_says():
    r = sieve.Pattern("causal").inspect(1000)
    assert r["attended_pairs"] == 1000 * 1001 // 2
    assert r["empty_rows"] == 0
    r = sieve.Pattern({"builtin": "sliding_window", "block_size": 64, "window_blocks": 2,
                       "sink_blocks": 1}).inspect(64 * 10, tile_q=64, tile_k=64)
    assert r["tiles"]["tile_q"] == 64
    # Per query block i: the sink (block 0) and blocks i-1, i, all causal.
    pairs = 0
    for q in range(640):
        qb = q // 64
        pairs += sum(1 for k in range(q + 1) if k // 64 == 0 or 0 <= qb - k // 64 < 2)
    assert r["attended_pairs"] == pairs


def test_inspect_is_what_the_cli_prints(sieve_tool):
    cli = subprocess.run([sieve_tool, "inspect", "builtin:power_attention", "--seq-len", "32768",
                          "--json", "--layers", "6"], capture_output=True, text=True, check=True)
    expected = json.loads(cli.stdout)
    got = sieve.Pattern("power_attention").inspect(32768, layers=6)
    for r in (expected, got):
        del r["elapsed_ms"]
    assert got == expected


def test_inspect_checks_its_arguments():
    p = sieve.Pattern("causal")
    with pytest.raises(ValueError, match=r"seq_len must be in \[1, 16777216\] but is 0"):
        p.inspect(0)
    with pytest.raises(ValueError, match="tile_q must be in"):
        p.inspect(100, tile_q=5000)
    with pytest.raises(TypeError, match="seq_len must be an int"):
        p.inspect(1.5)


def test_examples_in_the_docs_load():
    for path in sorted(EXAMPLES.glob("*.json")):
        assert sieve.Pattern(path).inspect(4096)["seq_len"] == 4096, path


def test_targets_and_devices():
    assert sieve.target("sm_80") == ("sm_80", "--arch")
    with pytest.raises(ValueError, match="unsupported architecture 'sm_70'"):
        sieve.target("sm_70")
    here = sieve.device()
    t, how = sieve.target()
    if here is None:
        assert (t, how) == ("sm_90a", "no GPU: default")
    else:
        assert t == here.target and how == "device " + here.name
    names = [v["name"] for v in sieve.kernel_variants()]
    assert "fwd-sm80-mma" in names and "fwd-sm90-wgmma" in names
