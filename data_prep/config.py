"""Every option of ``toolzero-prep``: :class:`PrepConfig` (the augmentations' own options are
:class:`data_prep.augmentations.config.AugmentationConfig`).

Each field is a typed option (:mod:`toolzero_verl.core.options`): its help text and default are
stated here once and the command line is generated from them (:mod:`data_prep.cli`). Values are
checked on construction, each against its declared type and range, so a bad one fails before any
work with one line naming it; the files the options name are checked when the run starts
(:func:`data_prep.pipeline.run`).

>>> PrepConfig(out="out", test_size="4").test_size
4.0
>>> PrepConfig(out="out", test_size=1.5)
Traceback (most recent call last):
...
toolzero_verl.core.options.ConfigError: --test-size is a fraction below 1 or a whole number of rows, got 1.5
"""

from __future__ import annotations

from dataclasses import dataclass

from toolzero_verl.core.formats import FORMATS
from toolzero_verl.core.options import ConfigError, Options, option

from .augmentations.config import AugmentationConfig
from .episodes import EXECUTOR_CHOICES
from .mix import PRESETS, parse_mix
from .rows import GT_MODES
from .split import DIFFICULTY_WEIGHTS, ORDERS

REQUIRED_POLICIES = ("inferred", "strict")  # which xLAM parameters are required (docs/data.md §1)

_PRESETS_TEXT = "; ".join(f"{k}: " + " / ".join(f"{n} {s}" for s, n in v.items()) for k, v in PRESETS.items())


@dataclass(frozen=True)
class PrepConfig(Options):
    """Every option of ``toolzero-prep`` (``toolzero-prep --help``, docs/data.md §2), in --help order per group."""

    out: str = option(metavar="DIR", help="output directory, created if missing; it holds only train.parquet, "
                      "test.parquet and report.json, replaced together as one set (docs/data.md §6)")
    toolace: str | None = option(None, metavar="DATA_JSON",
                                 help="ToolACE data.json (multi-turn dialogues; tools in the system prompt), or "
                                 "from the Hub: hf://Team-ACE/ToolACE (any input: hf://OWNER/NAME[@REV][/FILE], "
                                 "through the Hub cache and token; docs/data.md)")
    xlam: str | None = option(None, metavar="XLAM_JSON",
                              help="xlam_function_calling_60k.json, or hf://Salesforce/xlam-function-calling-60k "
                              "(gated: accept its terms on the Hub first)")
    hammer: str | None = option(None, metavar="IRRELEVANCE_JSON",
                                help="Hammer's xlam-7.5k-irrelevancek.json (no-call samples), or "
                                "hf://MadeAgents/xlam-irrelevance-7.5k")
    toolrl: str | None = option(None, metavar="RLLA_JSON",
                                help="ToolRL's rlla_rl.json ({instruction, input, output} records); "
                                "hf://OWNER/NAME/FILE for a Hub copy")
    output_format: str = option(
        "answer", choices=tuple(sorted(FORMATS)),
        help="what the policy must write, rendered into the system prompt: answer (Tool Zero <think>/<answer>"
        "[f(a=1)]), hermes (<tool_call> JSON, Qwen native), toolrl (ToolRL layout)")
    mix: str | None = option(
        None, metavar="SPEC",
        help=f"samples per source: a preset ({_PRESETS_TEXT}) or source=N (count) / source=F (fraction below 1), "
        "comma-separated, e.g. toolace=2000,xlam=0.1. Sources not named keep everything. Default: everything")
    test_size: float = option(
        0.05, min=0.0, metavar="X",
        help="test split: a fraction below 1 or a whole number of rows (per source in proportion, whole "
        "dialogues, no duplicate on both sides)")
    seed: int = option(42, metavar="N", help="seed for mixing, splitting, ordering and the augmentations")
    order: str = option(
        "random", choices=ORDERS,
        help="training-row order: random (seeded shuffle) or difficulty (easy first; use with data.shuffle=False). "
        f"difficulty = weighted sum {DIFFICULTY_WEIGHTS} of calls (a no-call turn counts 1), gold arguments, "
        "offered tools, prior turns")
    max_prompt_tokens: int | None = option(
        None, min=1, metavar="N",
        help="drop samples whose chat-templated prompt is longer than N tokens (reason prompt_too_long); "
        "needs --tokenizer")
    tokenizer: str | None = option(None, metavar="PATH",
                                   help="local tokenizer directory for --max-prompt-tokens (never downloaded)")
    xlam_required: str = option(
        "inferred", choices=REQUIRED_POLICIES,
        help="which xLAM/Hammer parameters are required: inferred (not marked optional and no usable default) "
        "or strict (not marked optional)")
    coerce: bool = option(
        True, flag="--no-coerce",
        help='reject gold values whose type differs from the schema instead of converting them losslessly '
        '("10" -> 10 for an integer, 10001 -> "10001" for a string)')
    toolrl_gt: str = option(
        "json", choices=GT_MODES,
        help="ground truth of --toolrl rows: json (our schema, docs/data.md §6) or raw (ToolRL's own output "
        "string, to train reward=toolrl on ToolRL data exactly as released; its gold calls are then not "
        "checked against the tool schemas, only parsed)")
    agent_loop: bool = option(
        False, help="write multi-turn episodes for verl's agent loop instead of single-turn rows: one per ToolACE "
        "dialogue from its first user turn (gold calls, recorded results, final answers, the later user turns "
        "replayed), one single-request episode per other sample; rows carry agent_name (docs/multiturn.md)")
    agent_loop_executor: str = option(
        "auto", choices=EXECUTOR_CHOICES,
        help="--agent-loop: the executor each row names: auto (replay when the dialogue recorded a tool result, "
        "else simulate), replay or simulate")
    progress: bool = option(True, flag="--no-progress", help="no progress bar")
    augmentations: AugmentationConfig = AugmentationConfig()  # masking, irrelevance, multi-turn; all off by default

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.test_size >= 1 and not self.test_size.is_integer():
            raise ConfigError(f"--test-size is a fraction below 1 or a whole number of rows, got {self.test_size:g}")
        if (self.max_prompt_tokens is None) != (self.tokenizer is None):
            raise ConfigError("--max-prompt-tokens and --tokenizer go together")
        try:
            parse_mix(self.mix)
        except ValueError as exc:
            raise ConfigError(str(exc)) from None
        if self.agent_loop_executor != "auto" and not self.agent_loop:
            raise ConfigError("--agent-loop-executor needs --agent-loop")
        if self.agent_loop and self.augmentations.reintroduce_rate > 0:
            raise ConfigError("--reintroduce-rate changes the tools in the middle of a dialogue, which one episode "
                              "cannot do; leave it out with --agent-loop")
        if self.agent_loop and self.toolrl_gt == "raw":
            raise ConfigError("--toolrl-gt raw keeps ToolRL's text as the ground truth, which is not an episode; "
                              "leave it out with --agent-loop")
