"""A real verl FSDP actor checkpoint of a tiny Qwen2, written on the CPU by verl's own checkpoint manager.

``python -m toolzero_verl.testing.fsdp_checkpoint RUN_DIR STEP`` writes ``RUN_DIR/global_step_STEP/actor``
exactly as verl's FSDP workers do (``verl.utils.checkpoint.fsdp_checkpoint_manager.FSDPCheckpointManager``
on a model wrapped with FSDP2 ``fully_shard`` over a one-rank ``("fsdp",)`` device mesh, the mesh name
verl's workers use), plus ``RUN_DIR/reference_state.pt``: the full weights before sharding, to compare a
merged model against. Run it in its own process: it starts a one-rank gloo process group.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path


def write_checkpoint(run_dir: str | os.PathLike, step: int) -> Path:
    """Write the checkpoint; returns its ``actor`` folder."""
    import torch
    import torch.distributed as dist
    from torch.distributed.device_mesh import init_device_mesh
    from torch.distributed.fsdp import fully_shard
    from transformers import Qwen2Config, Qwen2ForCausalLM
    from verl.utils.checkpoint.fsdp_checkpoint_manager import FSDPCheckpointManager

    from toolzero_verl.testing.tiny_tokenizer import build_tiny_tokenizer

    run = Path(run_dir)
    os.environ.setdefault("MASTER_ADDR", "127.0.0.1")
    os.environ.setdefault("MASTER_PORT", str(29500 + os.getpid() % 1000))
    dist.init_process_group("gloo", rank=0, world_size=1)
    try:
        tokenizer = build_tiny_tokenizer(run / "tokenizer")
        # `architectures` is what from_pretrained would have set; verl's merger reads it
        # head_dim 64: a size vLLM's CPU attention kernels take, so the merged model also serves in vLLM
        config = Qwen2Config(vocab_size=len(tokenizer), hidden_size=128, intermediate_size=256, num_hidden_layers=2,
                             num_attention_heads=2, num_key_value_heads=2, max_position_embeddings=4096,
                             tie_word_embeddings=False, architectures=["Qwen2ForCausalLM"])
        torch.manual_seed(0)
        model = Qwen2ForCausalLM(config)
        torch.save({k: v.clone() for k, v in model.state_dict().items()}, run / "reference_state.pt")
        mesh = init_device_mesh("cpu", (1,), mesh_dim_names=("fsdp",))
        for layer in model.model.layers:
            fully_shard(layer, mesh=mesh)
        fully_shard(model, mesh=mesh)
        optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3)
        actor = run / f"global_step_{step}" / "actor"
        FSDPCheckpointManager(model, optimizer, None, processing_class=tokenizer).save_checkpoint(
            str(actor), global_step=step)
        (run / "latest_checkpointed_iteration.txt").write_text(str(step))
        return actor
    finally:
        dist.destroy_process_group()


if __name__ == "__main__":
    print(write_checkpoint(sys.argv[1], int(sys.argv[2])))
