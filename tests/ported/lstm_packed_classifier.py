"""A variable-length sequence classifier as GitHub projects write one: a Dataset of token-id lists, a
collate_fn with pad_sequence and lengths, nn.Embedding(padding_idx=0), a bidirectional 2-layer LSTM over
pack_padded_sequence(enforce_sorted=False), the final hidden states of both directions
(torch.cat((hidden[-2], hidden[-1]), dim=1)), pad_packed_sequence for an attention-free max-pool,
BCEWithLogitsLoss with torch.sigmoid/round accuracy, torch.unique for the class balance."""
import random

import torch
import torch.nn as nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence, pad_sequence
from torch.utils.data import DataLoader, Dataset

SEED = 1234
random.seed(SEED)
torch.manual_seed(SEED)
device = torch.device("cuda" if torch.cuda.is_available() else "cpu")

POSITIVE = "good great fine excellent love nice".split()
NEGATIVE = "bad awful poor terrible hate boring".split()
FILLER = "the movie film plot actor was is and a it very".split()
vocab = {"<pad>": 0, "<unk>": 1}
for w in POSITIVE + NEGATIVE + FILLER:
    vocab[w] = len(vocab)


def make_review():
    label = random.random() < 0.5
    words = random.choices(FILLER, k=random.randint(2, 14))
    cue = random.choice(POSITIVE if label else NEGATIVE)
    words.insert(random.randint(0, len(words)), cue)
    return [vocab[w] for w in words], float(label)


class ReviewDataset(Dataset):
    def __init__(self, n):
        self.items = [make_review() for _ in range(n)]

    def __len__(self):
        return len(self.items)

    def __getitem__(self, idx):
        ids, label = self.items[idx]
        return torch.tensor(ids, dtype=torch.long), torch.tensor(label)


def collate_fn(batch):
    texts, labels = zip(*batch)
    lengths = torch.tensor([len(t) for t in texts])
    padded = pad_sequence(texts, batch_first=True, padding_value=0)
    return padded, lengths, torch.stack(labels)


class LSTMClassifier(nn.Module):
    def __init__(self, vocab_size, embedding_dim, hidden_dim, output_dim, n_layers, bidirectional, dropout, pad_idx):
        super().__init__()
        self.embedding = nn.Embedding(vocab_size, embedding_dim, padding_idx=pad_idx)
        self.rnn = nn.LSTM(embedding_dim, hidden_dim, num_layers=n_layers, bidirectional=bidirectional,
                           dropout=dropout, batch_first=True)
        self.fc = nn.Linear(hidden_dim * 2 * 2, output_dim)
        self.dropout = nn.Dropout(dropout)

    def forward(self, text, text_lengths):
        embedded = self.dropout(self.embedding(text))
        packed_embedded = pack_padded_sequence(embedded, text_lengths.to('cpu'), batch_first=True,
                                               enforce_sorted=False)
        packed_output, (hidden, cell) = self.rnn(packed_embedded)
        output, output_lengths = pad_packed_sequence(packed_output, batch_first=True, padding_value=-1e4)
        pooled, _ = output.max(dim=1)
        hidden = self.dropout(torch.cat((hidden[-2, :, :], hidden[-1, :, :]), dim=1))
        return self.fc(torch.cat((hidden, pooled), dim=1))


def binary_accuracy(preds, y):
    rounded_preds = torch.round(torch.sigmoid(preds))
    correct = (rounded_preds == y).float()
    return correct.sum() / len(correct)


def train(model, iterator, optimizer, criterion):
    epoch_loss, epoch_acc = 0, 0
    model.train()
    for text, text_lengths, label in iterator:
        text, label = text.to(device), label.to(device)
        optimizer.zero_grad()
        predictions = model(text, text_lengths).squeeze(1)
        loss = criterion(predictions, label)
        acc = binary_accuracy(predictions, label)
        loss.backward()
        optimizer.step()
        epoch_loss += loss.item()
        epoch_acc += acc.item()
    return epoch_loss / len(iterator), epoch_acc / len(iterator)


def evaluate(model, iterator, criterion):
    epoch_loss, epoch_acc = 0, 0
    model.eval()
    with torch.no_grad():
        for text, text_lengths, label in iterator:
            predictions = model(text.to(device), text_lengths).squeeze(1)
            loss = criterion(predictions, label.to(device))
            epoch_loss += loss.item()
            epoch_acc += binary_accuracy(predictions, label).item()
    return epoch_loss / len(iterator), epoch_acc / len(iterator)


if __name__ == "__main__":
    train_data, valid_data = ReviewDataset(600), ReviewDataset(200)
    labels = torch.tensor([label for _, label in train_data.items])
    values, counts = torch.unique(labels, return_counts=True)
    print("class balance", dict(zip(values.tolist(), counts.tolist())))
    train_iterator = DataLoader(train_data, batch_size=32, shuffle=True, collate_fn=collate_fn)
    valid_iterator = DataLoader(valid_data, batch_size=64, collate_fn=collate_fn)

    model = LSTMClassifier(len(vocab), 32, 32, 1, n_layers=2, bidirectional=True, dropout=0.2, pad_idx=0)
    model = model.to(device)
    print(f"The model has {sum(p.numel() for p in model.parameters() if p.requires_grad):,} trainable parameters")
    optimizer = torch.optim.Adam(model.parameters(), lr=5e-3)
    criterion = nn.BCEWithLogitsLoss().to(device)

    valid_loss, valid_acc = evaluate(model, valid_iterator, criterion)
    print(f"epoch 0 loss {valid_loss:.4f} accuracy {valid_acc:.4f}")
    for epoch in range(5):
        train_loss, train_acc = train(model, train_iterator, optimizer, criterion)
        valid_loss, valid_acc = evaluate(model, valid_iterator, criterion)
        print(f"epoch {epoch + 1} train_loss {train_loss:.4f} loss {valid_loss:.4f} accuracy {valid_acc:.4f}")
