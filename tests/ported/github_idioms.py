"""A training script with the idioms GitHub projects pile up: argparse with defaults, ``if __name__ ==
"__main__":``, the cuda-or-cpu device line, cudnn.benchmark, set_num_threads, random_split + Subset,
DataLoader(num_workers=0, pin_memory=True, drop_last=True), .to(device, non_blocking=True), tqdm,
model.apply(init_fn), register_buffer, named_parameters with parameter groups (no weight decay on
biases and norms), LambdaLR warm-up, OneCycleLR and ReduceLROnPlateau, clip_grad_norm_,
copy.deepcopy(model) as the best model, torch.inference_mode, torch.where, masked_fill, F.one_hot,
F.pad, and a checkpoint saved with the optimizer and scheduler state then loaded with map_location."""
import argparse
import copy
import os
import tempfile

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.utils.data import DataLoader, Subset, TensorDataset, random_split
from tqdm import tqdm


def get_args():
    parser = argparse.ArgumentParser(description="toy sequence classifier")
    parser.add_argument("--epochs", type=int, default=6)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--lr", type=float, default=3e-3)
    parser.add_argument("--weight-decay", type=float, default=1e-4)
    parser.add_argument("--warmup", type=int, default=10)
    parser.add_argument("--clip", type=float, default=1.0)
    parser.add_argument("--seed", type=int, default=42)
    return parser.parse_args()


def make_data(n, seq_len=12, vocab=20):
    """Sequences of token ids with padding (0); the label is whether token 7 occurs more than token 3."""
    lengths = torch.randint(4, seq_len + 1, (n,))
    tokens = torch.randint(1, vocab, (n, seq_len))
    mask = torch.arange(seq_len).unsqueeze(0) >= lengths.unsqueeze(1)
    tokens = tokens.masked_fill(mask, 0)
    label = ((tokens == 7).sum(1) > (tokens == 3).sum(1)).long()
    return TensorDataset(tokens, lengths, label)


class Classifier(nn.Module):
    def __init__(self, vocab=20, dim=32, num_classes=2, max_len=16):
        super().__init__()
        self.embed = nn.Embedding(vocab, dim, padding_idx=0)
        self.register_buffer("positions", torch.arange(max_len))
        self.pos = nn.Embedding(max_len, dim)
        self.norm = nn.LayerNorm(dim)
        self.conv = nn.Conv1d(dim, dim, kernel_size=3)
        self.head = nn.Sequential(nn.Linear(dim + vocab, 64), nn.GELU(), nn.Dropout(0.1), nn.Linear(64, num_classes))

    def forward(self, tokens, lengths):
        pad = tokens == 0
        x = self.embed(tokens) + self.pos(self.positions[: tokens.size(1)])
        x = self.norm(x)
        x = F.pad(x.transpose(1, 2), (1, 1))  # same-length convolution
        x = F.relu(self.conv(x)).transpose(1, 2)
        x = torch.where(pad.unsqueeze(-1), torch.zeros_like(x), x)
        pooled = x.sum(1) / lengths.unsqueeze(1).float()
        counts = F.one_hot(tokens, num_classes=20).float().sum(1) / lengths.unsqueeze(1)
        return self.head(torch.cat([pooled, counts], dim=1))


def init_fn(m):
    if isinstance(m, nn.Linear):
        nn.init.xavier_uniform_(m.weight)
        if m.bias is not None:
            nn.init.zeros_(m.bias)
    elif isinstance(m, nn.Embedding):
        nn.init.normal_(m.weight, mean=0.0, std=0.1)


def evaluate(model, loader, device):
    model.eval()
    correct = total = 0
    loss_sum = 0.0
    with torch.inference_mode():
        for tokens, lengths, label in loader:
            tokens, lengths, label = tokens.to(device), lengths.to(device), label.to(device)
            logits = model(tokens, lengths)
            loss_sum += F.cross_entropy(logits, label, reduction="sum").item()
            correct += (logits.argmax(dim=-1) == label).sum().item()
            total += label.numel()
    return loss_sum / total, correct / total


def main():
    args = get_args()
    torch.manual_seed(args.seed)
    torch.set_num_threads(1)
    torch.backends.cudnn.benchmark = True
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")

    full = make_data(1200)
    train_set, val_set = random_split(full, [1000, 200], generator=torch.Generator().manual_seed(0))
    small_val = Subset(val_set, list(range(100)))
    train_loader = DataLoader(train_set, batch_size=args.batch_size, shuffle=True, num_workers=0,
                              pin_memory=True, drop_last=True)
    val_loader = DataLoader(small_val, batch_size=64, shuffle=False, num_workers=0, pin_memory=True)

    model = Classifier().to(device)
    model.apply(init_fn)
    decay, no_decay = [], []
    for name, param in model.named_parameters():
        if not param.requires_grad:
            continue
        (no_decay if name.endswith("bias") or "norm" in name else decay).append(param)
    optimizer = torch.optim.AdamW([{"params": decay, "weight_decay": args.weight_decay},
                                   {"params": no_decay, "weight_decay": 0.0}], lr=args.lr)
    steps_per_epoch = len(train_loader)
    warmup = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: min(1.0, (step + 1) / args.warmup))
    plateau = torch.optim.lr_scheduler.ReduceLROnPlateau(optimizer, mode="min", factor=0.5, patience=1)
    criterion = nn.CrossEntropyLoss(label_smoothing=0.05)

    val_loss, val_acc = evaluate(model, val_loader, device)
    print(f"epoch 0 loss {val_loss:.4f} accuracy {val_acc:.4f}")
    best_acc, best_model = 0.0, None
    for epoch in range(1, args.epochs + 1):
        model.train()
        pbar = tqdm(train_loader, desc=f"epoch {epoch}", leave=False, disable=True)
        for tokens, lengths, label in pbar:
            tokens = tokens.to(device, non_blocking=True)
            lengths, label = lengths.to(device, non_blocking=True), label.to(device, non_blocking=True)
            optimizer.zero_grad(set_to_none=True)
            loss = criterion(model(tokens, lengths), label)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), max_norm=args.clip)
            optimizer.step()
            if epoch == 1:
                warmup.step()
            pbar.set_postfix(loss=f"{loss.item():.3f}", lr=optimizer.param_groups[0]["lr"])
        val_loss, val_acc = evaluate(model, val_loader, device)
        plateau.step(val_loss)
        print(f"epoch {epoch} loss {val_loss:.4f} accuracy {val_acc:.4f} lr {optimizer.param_groups[0]['lr']:.2e}")
        if val_acc > best_acc:
            best_acc, best_model = val_acc, copy.deepcopy(model)

    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "checkpoint.pth")
        torch.save({"epoch": args.epochs, "model_state_dict": best_model.state_dict(),
                    "optimizer_state_dict": optimizer.state_dict(), "scheduler": plateau.state_dict(),
                    "best_acc": best_acc}, path)
        checkpoint = torch.load(path, map_location=device)
        restored = Classifier().to(device)
        restored.load_state_dict(checkpoint["model_state_dict"])
        optimizer.load_state_dict(checkpoint["optimizer_state_dict"])
        plateau.load_state_dict(checkpoint["scheduler"])
    _, restored_acc = evaluate(restored, val_loader, device)
    print(f"restored best accuracy {restored_acc:.4f} (saved {checkpoint['best_acc']:.4f})")

    # a fine-tuning stage with OneCycleLR on a fresh optimizer, the embeddings frozen
    for p in restored.embed.parameters():
        p.requires_grad = False
    params = [p for p in restored.parameters() if p.requires_grad]
    optimizer = torch.optim.SGD(params, lr=0.01, momentum=0.9, nesterov=True)
    onecycle = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=0.05, epochs=2, steps_per_epoch=steps_per_epoch)
    for epoch in range(2):
        restored.train()
        for tokens, lengths, label in train_loader:
            optimizer.zero_grad()
            F.cross_entropy(restored(tokens, lengths), label).backward()
            optimizer.step()
            onecycle.step()
    val_loss, val_acc = evaluate(restored, val_loader, device)
    print(f"finetuned loss {val_loss:.4f} accuracy {val_acc:.4f}")
    print(f"frozen embedding unchanged {torch.equal(restored.embed.weight, best_model.embed.weight)}")


if __name__ == "__main__":
    main()
