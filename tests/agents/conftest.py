"""Fixtures: tiny BERT models saved by the tests themselves, and one packaged-MiniLM runtime."""

from __future__ import annotations

from pathlib import Path

import pytest

from dunes.agents import AgentRuntime
from dunes.config import Settings, get_settings
from dunes.devices import Device, Inventory

WORDS = [
    "design",
    "prepare",
    "create",
    "build",
    "run",
    "apply",
    "a",
    "an",
    "the",
    "of",
    "on",
    "with",
    "to",
    "for",
    "state",
    "states",
    "qubit",
    "qubits",
    "ghz",
    "bell",
    "w",
    "qft",
    "inverse",
    "fourier",
    "grover",
    "search",
    "marked",
    "secret",
    "hidden",
    "teleport",
    "random",
    "circuit",
    "weather",
    "what",
    "is",
    "today",
    "entangled",
    "pair",
    "four",
    "three",
    "two",
]


def save_tiny_bert(directory: Path, *, hidden: int = 32, seed: int = 0) -> Path:
    """A real (untrained) BERT encoder with a tiny WordPiece vocabulary, saved as HF does."""
    import torch
    from transformers import BertConfig, BertModel, BertTokenizer

    directory.mkdir(parents=True, exist_ok=True)
    specials = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    letters = [chr(c) for c in range(ord("a"), ord("z") + 1)] + list("0123456789-")
    pieces = [f"##{c}" for c in letters]
    vocab = list(dict.fromkeys(specials + WORDS + letters + pieces))
    tokenizer = BertTokenizer(vocab={w: i for i, w in enumerate(vocab)}, do_lower_case=True)
    tokenizer.save_pretrained(str(directory))
    torch.manual_seed(seed)
    config = BertConfig(
        vocab_size=len(vocab),
        hidden_size=hidden,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=2 * hidden,
        max_position_embeddings=128,
    )
    BertModel(config).save_pretrained(str(directory))
    return directory


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return save_tiny_bert(tmp_path_factory.mktemp("models") / "tiny-bert")


@pytest.fixture(scope="session")
def other_tiny_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return save_tiny_bert(tmp_path_factory.mktemp("models") / "tiny-bert-48", hidden=48, seed=1)


@pytest.fixture(scope="session")
def minilm_runtime(tmp_path_factory: pytest.TempPathFactory) -> AgentRuntime:
    """The packaged model, loaded once for the whole session (resident, as in a worker)."""
    settings = get_settings(data_dir=str(tmp_path_factory.mktemp("minilm-data")))
    runtime = AgentRuntime(settings, inventory=cpu_inventory())
    runtime.encoder("planner")
    return runtime


def cpu_inventory(free: int = 8 * 2**30) -> Inventory:
    cpu = Device(id="cpu", kind="cpu", name="CPU", memory_total=2 * free, memory_free=free)
    return Inventory(source="cpu", cuda_visible_devices=None, devices=(cpu,))


def gpu_inventory(free: list[int]) -> Inventory:
    gpus = tuple(
        Device(
            id=f"cuda:{i}",
            kind="cuda",
            index=i,
            name="test GPU",
            memory_total=80 * 2**30,
            memory_free=f,
        )
        for i, f in enumerate(free)
    )
    return Inventory(source="nvml", cuda_visible_devices=None, devices=(*gpus, cpu_inventory().cpu))


def tiny_settings(model: Path, **agents: object) -> Settings:
    roles = ("planner", "extraction", "validation", "synthesis")
    return get_settings(agents={"models": {r: str(model) for r in roles}, **agents})
