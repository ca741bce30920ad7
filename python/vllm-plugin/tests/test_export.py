"""rbln-export: a local Hugging Face folder (random weights, save_pretrained)
-> ONNX with the KV cache -> rbln-compile -> a served directory. The
artifact's greedy tokens equal transformers' own generate(), alone (rbln.LLM)
and served by vLLM through the plugin."""
import json
import os
import subprocess
import sys

import pytest

import hf_models
import rbln
from rbln.export import ExportError, export

PROMPTS = [[5, 17, 99, 3, 250, 42, 7], list(range(1, 41))]  # the second passes the 16-token windows
NEW = 24


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    """family -> (served directory, the transformers model)."""
    root = tmp_path_factory.mktemp("export")
    cache = {}

    def get(name):
        if name not in cache:
            model = hf_models.save(name, root / f"hf-{name}")
            out = export(root / f"hf-{name}", root / f"served-{name}", max_seq_len=256,
                         decoder_batch_sizes=[1, 4], kvcache_block_size=16, prefill_chunk_size=32,
                         progress=False)
            cache[name] = (str(out), model)
        return cache[name]
    return get


@pytest.mark.parametrize("name", sorted(hf_models.CLASSES))
def test_export_generates_transformers_tokens(exported, name):
    d, model = exported(name)
    cfg = json.load(open(os.path.join(d, "rbln_config.json")))
    assert cfg["max_seq_len"] == 256 and cfg["decoder_batch_sizes"] == [1, 4]
    assert cfg["compiler_version"].startswith("rbln-compile")
    assert json.load(open(os.path.join(d, "config.json")))["architectures"] == [type(model).__name__]
    if name in ("mistral", "gemma3"):  # the window comes from the model's config
        assert cfg["sliding_window"] == 16
        assert cfg["kv_cache_kinds"] == (["sliding_window"] if name == "mistral"
                                         else ["full_attention", "sliding_window"])
    llm = rbln.LLM(os.path.join(d, "model.rbln"))
    outs = llm.generate(PROMPTS, rbln.SamplingParams(temperature=0, max_tokens=NEW))
    for p, o in zip(PROMPTS, outs):
        assert o.outputs[0].token_ids == hf_models.greedy(model, p, NEW)


def test_exported_directory_serves_through_vllm(exported):
    """The Gemma 3 hybrid's directory as vLLM loads it (its own config.json)."""
    from vllm import LLM, SamplingParams
    d, model = exported("gemma3")
    llm = LLM(model=d, tokenizer=d, seed=0)
    outs = llm.generate([{"prompt_token_ids": p} for p in PROMPTS],
                        SamplingParams(temperature=0, max_tokens=NEW, ignore_eos=True), use_tqdm=False)
    for p, o in zip(PROMPTS, outs):
        assert list(o.outputs[0].token_ids) == hf_models.greedy(model, p, NEW)


def test_unsupported_models_are_refused(tmp_path):
    (tmp_path / "mamba").mkdir()
    (tmp_path / "mamba" / "config.json").write_text(json.dumps({"architectures": ["MambaForCausalLM"]}))
    with pytest.raises(ExportError, match="MambaForCausalLM: no export recipe"):
        export(tmp_path / "mamba", tmp_path / "out", progress=False)
    with pytest.raises(ExportError, match="no config.json"):
        export(tmp_path, tmp_path / "out", progress=False)
    r = subprocess.run([sys.executable, "-m", "rbln.export", str(tmp_path / "mamba"), str(tmp_path / "o")],
                       capture_output=True, text=True)
    assert r.returncode == 2 and "rbln-export: error: MambaForCausalLM" in r.stderr


def test_cli_shows_progress(tmp_path):
    hf_models.save("gpt2", tmp_path / "hf")
    from rbln.llm_dir import write_word_tokenizer
    write_word_tokenizer(tmp_path / "hf", hf_models.VOCAB)  # the model's own tokenizer, to be copied
    (tmp_path / "hf" / "special_tokens_map.json").write_text("{}")
    r = subprocess.run([sys.executable, "-m", "rbln.export", str(tmp_path / "hf"), str(tmp_path / "out"),
                        "--max-seq-len", "128", "--decoder-batch-sizes", "1,2", "--kvcache-block-size", "16",
                        "--prefill-chunk-size", "32"], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    for step in ("loading GPT2LMHeadModel", "exporting to ONNX", "compiling for atom", "wrote"):
        assert step in r.stderr
    assert sorted(os.listdir(tmp_path / "out")) == ["config.json", "generation_config.json", "model.rbln",
                                                     "rbln_config.json", "special_tokens_map.json",
                                                     "tokenizer.json", "tokenizer_config.json"]
    for f in ("tokenizer.json", "tokenizer_config.json", "config.json"):
        assert open(tmp_path / "out" / f).read() == open(tmp_path / "hf" / f).read()
