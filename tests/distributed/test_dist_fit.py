"""fit on a process group: sharded data, DDP, figures over all ranks, rank-0 checkpoints and resume."""
import os

import numpy as np
import pytest

import eigengrad as eg
import eigengrad.distributed as dist
from eigengrad import nn
from eigengrad.data import DataLoader, DistributedSampler, TensorDataset
from eigengrad.train import ModelCheckpoint, Trainer, fit
from distributed.dist_helpers import assert_same_on_every_rank, flat_parameters


def data(n=256, dtype=np.float64, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, 12)).astype(dtype)
    return X, (X[:, :3].sum(1) > 0).astype(np.int64) + (X[:, 3] > 1)


def mlp(dtype=np.float64, dropout=0.0):
    eg.manual_seed(0)
    layers = [nn.Linear(12, 32), nn.ReLU()] + ([nn.Dropout(dropout)] if dropout else []) + [nn.Linear(32, 3)]
    return nn.Sequential(*layers).to(dtype)


def test_fit_on_two_ranks_equals_the_hand_loop_of_one_process_on_the_global_batch():
    X, y = data()
    Xv, yv = data(100, seed=1)
    per_rank = 64 // dist.get_world_size()
    model = mlp()
    history = fit(model, nn.CrossEntropyLoss(), eg.optim.SGD(model.parameters(), lr=0.1, momentum=0.9),
                  DataLoader(TensorDataset(X, y), batch_size=per_rank), epochs=2,
                  val_loader=DataLoader(TensorDataset(Xv, yv), batch_size=32), progress=False)
    # one process, batches of 64 in order: rank r's shard of batch b is rows r, r + size, ... of it
    ref = mlp()
    opt = eg.optim.SGD(ref.parameters(), lr=0.1, momentum=0.9)
    losses = []
    for epoch in range(2):
        total = 0.0
        for b in range(0, 256, 64):
            opt.zero_grad()
            loss = nn.CrossEntropyLoss()(ref(eg.from_numpy(X[b:b + 64])), eg.from_numpy(y[b:b + 64]))
            loss.backward()
            opt.step()
            total += loss.item() * 64
        losses.append(total / 256)
    val_accuracy = float(np.mean(ref(eg.from_numpy(Xv)).detach().numpy().argmax(1) == yv))
    ref_flat = flat_parameters(ref)
    assert np.max(np.abs(flat_parameters(model) - ref_flat)) <= 1e-12 * np.max(np.abs(ref_flat))
    np.testing.assert_allclose(history["loss"], losses, rtol=1e-12)
    assert history["val_accuracy"][-1] == val_accuracy  # the whole validation set, counted over the ranks
    assert_same_on_every_rank(np.array(history["loss"] + history["val_loss"]), "the logged figures")


def run(epochs, path=None, resume_from=None, progress=False):
    X, y = data(200, np.float32)
    model = mlp(np.float32, dropout=0.2)
    loader = DataLoader(TensorDataset(X, y), batch_size=16, shuffle=True, generator=eg.Generator(3))
    callbacks = [ModelCheckpoint(path)] if path else []
    trainer = Trainer(model, nn.CrossEntropyLoss(), eg.optim.AdamW(model.parameters(), lr=1e-2),
                      callbacks=callbacks, progress=progress)
    writes = []
    save = trainer.save_checkpoint
    trainer.save_checkpoint = lambda p: (writes.append(p), save(p))
    trainer.fit(loader, epochs=epochs, val_loader=DataLoader(TensorDataset(*data(50, np.float32, 2)), batch_size=20),
                resume_from=resume_from)
    return model, trainer, writes


def test_resuming_from_rank_0s_checkpoint_continues_as_the_uninterrupted_run(shared_dir):
    path = os.path.join(shared_dir, "last.safetensors")
    full, full_trainer, _ = run(4)
    run(2, path=path)[0]
    resumed, trainer, writes = run(4, path=path, resume_from=path)
    assert writes == ([path, path] if dist.get_rank() == 0 else [])  # only rank 0 writes
    assert np.array_equal(flat_parameters(resumed), flat_parameters(full))
    assert trainer.history.history == full_trainer.history.history
    assert_same_on_every_rank(flat_parameters(resumed), "parameters after the resumed run")


def test_progress_bar_on_rank_0_only(capsys):
    run(1, progress=True)
    err = capsys.readouterr().err
    assert ("epoch 1/1" in err) == (dist.get_rank() == 0)


def test_a_loader_on_a_distributed_sampler_is_kept_and_others_are_refused():
    X, y = data(64)
    sampler = DistributedSampler(TensorDataset(X, y), shuffle=False)
    model = mlp()
    trainer = Trainer(model, nn.CrossEntropyLoss(), eg.optim.SGD(model.parameters(), lr=0.1), progress=False)
    trainer.fit(DataLoader(TensorDataset(X, y), batch_size=8, sampler=sampler), epochs=1)
    assert trainer.train_loader.sampler is sampler and sampler.epoch == 0
    with pytest.raises(ValueError, match="train_loader: fit on a process group shards an eigengrad.data.DataLoader"):
        trainer.fit([(eg.from_numpy(X), eg.from_numpy(y))], epochs=2)
