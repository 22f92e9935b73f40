"""CTC "speech" recognition as the small ASR repositories on GitHub (DeepSpeech-style LSTM acoustic models)
write it: a synthetic corpus where each "phoneme" has a characteristic spectral template, a random duration
and noise, so an utterance is a sequence of feature frames of variable length with a shorter label
sequence; a Conv1d front end and a bidirectional LSTM over the frames; log_softmax outputs laid out
(T, N, C) for nn.CTCLoss(blank=0, zero_infinity=True) with input and target lengths; gradient clipping; and
greedy CTC decoding (argmax per frame, torch.unique_consecutive, drop blanks) scored by the character error
rate computed with an edit distance."""
import random

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.utils.data import DataLoader, Dataset

torch.manual_seed(0)
random.seed(0)
np.random.seed(0)
device = torch.device("cuda" if torch.cuda.is_available() else "cpu")

N_FEATS, N_PHONES = 20, 6  # labels 1..6, 0 is the CTC blank
rng = np.random.RandomState(0)
TEMPLATES = rng.randn(N_PHONES + 1, N_FEATS).astype(np.float32) * 1.5  # row 0: silence


def synth_utterance():
    n = random.randint(2, 5)
    labels = [random.randint(1, N_PHONES) for _ in range(n)]
    frames = [TEMPLATES[0]] * random.randint(1, 3)
    for p in labels:
        frames += [TEMPLATES[p]] * random.randint(2, 4)
        frames += [TEMPLATES[0]] * random.randint(1, 2)  # a short pause between phones
    x = np.stack(frames) + 0.5 * rng.randn(len(frames), N_FEATS).astype(np.float32)
    return torch.from_numpy(x), torch.tensor(labels, dtype=torch.long)


class SpeechDataset(Dataset):
    def __init__(self, n):
        self.items = [synth_utterance() for _ in range(n)]

    def __len__(self):
        return len(self.items)

    def __getitem__(self, idx):
        return self.items[idx]


def collate_fn(batch):
    feats, labels = zip(*batch)
    input_lengths = torch.tensor([f.shape[0] for f in feats], dtype=torch.long)
    target_lengths = torch.tensor([len(l) for l in labels], dtype=torch.long)
    feats = nn.utils.rnn.pad_sequence(feats, batch_first=True)  # (N, T, F)
    targets = torch.cat(labels)  # concatenated 1-D targets
    return feats, targets, input_lengths, target_lengths


class AcousticModel(nn.Module):
    def __init__(self, n_feats, n_class, hidden=64):
        super().__init__()
        self.conv = nn.Conv1d(n_feats, hidden, kernel_size=3, padding=1)
        self.bn = nn.BatchNorm1d(hidden)
        self.rnn = nn.LSTM(hidden, hidden, num_layers=2, bidirectional=True, batch_first=True, dropout=0.1)
        self.fc = nn.Linear(hidden * 2, n_class)

    def forward(self, x):
        x = F.relu(self.bn(self.conv(x.transpose(1, 2)))).transpose(1, 2)  # (N, T, H)
        x, _ = self.rnn(x)
        return self.fc(x)  # (N, T, C)


def greedy_decode(log_probs, lengths):
    out = []
    best = log_probs.argmax(dim=-1)  # (N, T)
    for seq, n in zip(best, lengths):
        collapsed = torch.unique_consecutive(seq[:n])
        out.append([int(c) for c in collapsed if c != 0])
    return out


def edit_distance(a, b):
    d = list(range(len(b) + 1))
    for i in range(1, len(a) + 1):
        prev, d[0] = d[0], i
        for j in range(1, len(b) + 1):
            cur = min(d[j] + 1, d[j - 1] + 1, prev + (a[i - 1] != b[j - 1]))
            prev, d[j] = d[j], cur
    return d[len(b)]


def evaluate(model, loader):
    model.eval()
    errors = total = 0
    with torch.no_grad():
        for feats, targets, input_lengths, target_lengths in loader:
            log_probs = F.log_softmax(model(feats.to(device)), dim=-1)
            hyps = greedy_decode(log_probs, input_lengths)
            refs = torch.split(targets, target_lengths.tolist())
            for h, r in zip(hyps, refs):
                errors += edit_distance(h, r.tolist())
                total += len(r)
    return errors / total


train_loader = DataLoader(SpeechDataset(400), batch_size=32, shuffle=True, collate_fn=collate_fn)
test_loader = DataLoader(SpeechDataset(100), batch_size=50, collate_fn=collate_fn)
model = AcousticModel(N_FEATS, N_PHONES + 1).to(device)
criterion = nn.CTCLoss(blank=0, zero_infinity=True)
optimizer = torch.optim.AdamW(model.parameters(), lr=3e-3)
scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=6, gamma=0.5)

for epoch in range(1, 13):
    model.train()
    running = 0.0
    for feats, targets, input_lengths, target_lengths in train_loader:
        feats, targets = feats.to(device), targets.to(device)
        optimizer.zero_grad()
        output = F.log_softmax(model(feats), dim=2).transpose(0, 1)  # (T, N, C)
        loss = criterion(output, targets, input_lengths, target_lengths)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        running += loss.item()
    scheduler.step()
    if epoch % 2 == 0 or epoch == 1:
        cer = evaluate(model, test_loader)
        print(f"epoch {epoch:2d} loss {running / len(train_loader):.4f} cer {cer:.3f} accuracy {1 - cer:.3f}")

feats, targets, input_lengths, target_lengths = next(iter(test_loader))
with torch.no_grad():
    hyp = greedy_decode(F.log_softmax(model(feats[:1].to(device)), -1), input_lengths[:1])[0]
print("reference", targets[: target_lengths[0]].tolist(), "hypothesis", hyp)
