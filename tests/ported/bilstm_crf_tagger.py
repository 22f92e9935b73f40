"""A BiLSTM-CRF sequence tagger as the PyTorch "Advanced: Making Dynamic Decisions and the Bi-LSTM CRF"
tutorial and the NER repositories built on it write it, batched: word embeddings into a bidirectional LSTM,
emission scores from a Linear layer, a transition matrix held as an nn.Parameter (with START/STOP tags whose
impossible transitions are set to -10000), the partition function by the forward algorithm with
torch.logsumexp over a padding mask, the gold path score with gather, the negative log-likelihood as the
loss, and Viterbi decoding with max / argmax back-pointers. The corpus is a synthetic BIO-tagged "NER" set:
person and location names drawn from small gazetteers inside template sentences."""
import random

import torch
import torch.nn as nn
import torch.optim as optim
from torch.nn.utils.rnn import pad_sequence
from torch.utils.data import DataLoader, Dataset

torch.manual_seed(0)
random.seed(0)
device = torch.device("cuda" if torch.cuda.is_available() else "cpu")

START_TAG, STOP_TAG, PAD = "<START>", "<STOP>", "<PAD>"
PERSONS = [["john"], ["mary"], ["ana", "lopez"], ["li", "wei"], ["peter", "smith"], ["omar"], ["sara", "khan"]]
PLACES = [["paris"], ["new", "york"], ["berlin"], ["cairo"], ["sao", "paulo"], ["lima"], ["tokyo"]]
TEMPLATES = [
    "PER lives in LOC", "PER visited LOC last year", "yesterday PER flew to LOC", "PER and PER met in LOC",
    "the mayor of LOC is PER", "LOC welcomed PER", "PER said that LOC is big", "in LOC PER bought a car",
]


def make_sentence():
    words, tags = [], []
    for tok in random.choice(TEMPLATES).split():
        if tok in ("PER", "LOC"):
            name = random.choice(PERSONS if tok == "PER" else PLACES)
            words += name
            tags += [f"B-{tok}"] + [f"I-{tok}"] * (len(name) - 1)
        else:
            words.append(tok)
            tags.append("O")
    return words, tags


train_data = [make_sentence() for _ in range(300)]
test_data = [make_sentence() for _ in range(100)]
word_to_ix = {PAD: 0, "<unk>": 1}
for sent, _ in train_data:
    for w in sent:
        word_to_ix.setdefault(w, len(word_to_ix))
tag_to_ix = {"O": 0, "B-PER": 1, "I-PER": 2, "B-LOC": 3, "I-LOC": 4, START_TAG: 5, STOP_TAG: 6}
ix_to_tag = {v: k for k, v in tag_to_ix.items()}


class TaggedDataset(Dataset):
    def __init__(self, data):
        self.data = data

    def __len__(self):
        return len(self.data)

    def __getitem__(self, i):
        words, tags = self.data[i]
        x = torch.tensor([word_to_ix.get(w, 1) for w in words], dtype=torch.long)
        y = torch.tensor([tag_to_ix[t] for t in tags], dtype=torch.long)
        return x, y


def collate(batch):
    xs, ys = zip(*batch)
    lengths = torch.tensor([len(x) for x in xs])
    return pad_sequence(xs, batch_first=True), pad_sequence(ys, batch_first=True), lengths


class BiLSTM_CRF(nn.Module):
    def __init__(self, vocab_size, tag_to_ix, embedding_dim, hidden_dim):
        super().__init__()
        self.tag_to_ix = tag_to_ix
        self.tagset_size = len(tag_to_ix)
        self.word_embeds = nn.Embedding(vocab_size, embedding_dim, padding_idx=0)
        self.lstm = nn.LSTM(embedding_dim, hidden_dim // 2, num_layers=1, bidirectional=True, batch_first=True)
        self.hidden2tag = nn.Linear(hidden_dim, self.tagset_size)
        # transitions[i, j]: the score of transitioning *to* i *from* j
        self.transitions = nn.Parameter(torch.randn(self.tagset_size, self.tagset_size))
        self.transitions.data[tag_to_ix[START_TAG], :] = -10000
        self.transitions.data[:, tag_to_ix[STOP_TAG]] = -10000

    def _get_lstm_features(self, sentences):
        embeds = self.word_embeds(sentences)
        lstm_out, _ = self.lstm(embeds)
        return self.hidden2tag(lstm_out)  # (B, T, K)

    def _forward_alg(self, feats, mask):
        B, T, K = feats.shape
        alpha = torch.full((B, K), -10000.0, device=feats.device)
        alpha[:, self.tag_to_ix[START_TAG]] = 0.0
        for t in range(T):
            # scores[b, next, prev] = alpha[b, prev] + trans[next, prev] + emit[b, next]
            scores = alpha.unsqueeze(1) + self.transitions.unsqueeze(0) + feats[:, t].unsqueeze(2)
            new_alpha = torch.logsumexp(scores, dim=2)
            m = mask[:, t].unsqueeze(1)
            alpha = torch.where(m, new_alpha, alpha)
        terminal = alpha + self.transitions[self.tag_to_ix[STOP_TAG]]
        return torch.logsumexp(terminal, dim=1)

    def _score_sentence(self, feats, tags, mask):
        B, T, K = feats.shape
        start = torch.full((B, 1), self.tag_to_ix[START_TAG], dtype=torch.long, device=feats.device)
        tags_ext = torch.cat([start, tags], dim=1)
        emit = feats.gather(2, tags.unsqueeze(2)).squeeze(2)  # (B, T)
        trans = self.transitions[tags_ext[:, 1:], tags_ext[:, :-1]]  # (B, T)
        score = ((emit + trans) * mask.float()).sum(1)
        lengths = mask.long().sum(1)
        last_tags = tags.gather(1, (lengths - 1).unsqueeze(1)).squeeze(1)
        return score + self.transitions[self.tag_to_ix[STOP_TAG], last_tags]

    def neg_log_likelihood(self, sentences, tags, mask):
        feats = self._get_lstm_features(sentences)
        return (self._forward_alg(feats, mask) - self._score_sentence(feats, tags, mask)).mean()

    def _viterbi_decode(self, feats, length):
        backpointers = []
        init_vvars = torch.full((1, self.tagset_size), -10000.0, device=feats.device)
        init_vvars[0][self.tag_to_ix[START_TAG]] = 0
        forward_var = init_vvars
        for feat in feats[:length]:
            next_tag_var = forward_var + self.transitions  # (K next, K prev)
            viterbivars_t, bptrs_t = torch.max(next_tag_var, dim=1)
            forward_var = (viterbivars_t + feat).view(1, -1)
            backpointers.append(bptrs_t.tolist())
        terminal_var = forward_var + self.transitions[self.tag_to_ix[STOP_TAG]]
        best_tag_id = torch.argmax(terminal_var).item()
        path_score = terminal_var[0][best_tag_id]
        best_path = [best_tag_id]
        for bptrs_t in reversed(backpointers):
            best_tag_id = bptrs_t[best_tag_id]
            best_path.append(best_tag_id)
        start = best_path.pop()
        assert start == self.tag_to_ix[START_TAG]
        best_path.reverse()
        return path_score, best_path

    def forward(self, sentences, lengths):
        feats = self._get_lstm_features(sentences)
        return [self._viterbi_decode(f, int(n))[1] for f, n in zip(feats, lengths)]


def entities(tags):
    spans, cur = set(), None
    for i, t in enumerate(tags + ["O"]):
        if cur and not t.startswith("I-"):
            spans.add((cur[0], i, cur[1]))
            cur = None
        if t.startswith("B-"):
            cur = (i, t[2:])
    return spans


def evaluate(model, loader):
    model.eval()
    tp = fp = fn = 0
    with torch.no_grad():
        for x, y, lengths in loader:
            paths = model(x.to(device), lengths)
            for path, gold, n in zip(paths, y, lengths):
                p = entities([ix_to_tag[i] for i in path])
                g = entities([ix_to_tag[i] for i in gold[:n].tolist()])
                tp, fp, fn = tp + len(p & g), fp + len(p - g), fn + len(g - p)
    return 2 * tp / max(2 * tp + fp + fn, 1)


train_loader = DataLoader(TaggedDataset(train_data), batch_size=16, shuffle=True, collate_fn=collate)
test_loader = DataLoader(TaggedDataset(test_data), batch_size=32, collate_fn=collate)
model = BiLSTM_CRF(len(word_to_ix), tag_to_ix, embedding_dim=16, hidden_dim=32).to(device)
optimizer = optim.SGD(model.parameters(), lr=0.05, weight_decay=1e-4)

print(f"f1 before training {evaluate(model, test_loader):.3f}")
for epoch in range(1, 15):
    model.train()
    total, n = 0.0, 0
    for x, y, lengths in train_loader:
        x, y = x.to(device), y.to(device)
        mask = torch.arange(x.size(1), device=device)[None, :] < lengths[:, None].to(device)
        model.zero_grad()
        loss = model.neg_log_likelihood(x, y, mask)
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), 5.0)
        optimizer.step()
        total, n = total + loss.item() * x.size(0), n + x.size(0)
    print(f"epoch {epoch} loss {total / n:.4f} f1 {evaluate(model, test_loader):.3f}")

with torch.no_grad():
    words = "yesterday li wei flew to sao paulo".split()
    x = torch.tensor([[word_to_ix.get(w, 1) for w in words]], device=device)
    score, path = model._viterbi_decode(model._get_lstm_features(x)[0], len(words))
    print(" ".join(f"{w}/{ix_to_tag[t]}" for w, t in zip(words, path)), f"(score {score.item():.2f})")
