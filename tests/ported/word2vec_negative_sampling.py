"""Skip-gram word2vec with negative sampling on a synthetic corpus with planted topic structure."""
import collections
import os
import tempfile
import random

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.utils.data import Dataset, DataLoader

SEED = 1234
random.seed(SEED)
np.random.seed(SEED)
torch.manual_seed(SEED)

# ---- synthetic corpus: 4 topics, each with its own vocabulary; sentences mostly from one topic
topics = {
    "animals": "cat dog horse cow sheep goat mouse rabbit lion tiger".split(),
    "food": "bread cheese apple banana rice pasta soup salad pizza cake".split(),
    "tech": "computer laptop phone server network cable screen keyboard chip code".split(),
    "weather": "rain snow wind storm cloud sun fog hail thunder frost".split(),
}
common = "the a of and to in is it".split()
corpus = []
for _ in range(1500):
    t = random.choice(list(topics))
    sent = []
    for _ in range(random.randint(6, 12)):
        r = random.random()
        if r < 0.3:
            sent.append(random.choice(common))
        elif r < 0.95:
            sent.append(random.choice(topics[t]))
        else:
            sent.append(random.choice(topics[random.choice(list(topics))]))
    corpus.append(sent)

counter = collections.Counter(w for s in corpus for w in s)
itos = [w for w, _ in counter.most_common()]
stoi = {w: i for i, w in enumerate(itos)}
V = len(itos)
freqs = torch.tensor([counter[w] for w in itos], dtype=torch.float)
# subsampling of frequent words (Mikolov)
t = 1e-3
p_keep = ((freqs / freqs.sum() / t).sqrt() + 1) * (t / (freqs / freqs.sum()))
p_keep = p_keep.clamp(max=1.0)
noise_dist = freqs.pow(0.75)
noise_dist /= noise_dist.sum()
print(f"vocab {V}, tokens {int(freqs.sum())}")


class SkipGramDataset(Dataset):
    def __init__(self, corpus, window=2):
        pairs = []
        for sent in corpus:
            ids = [stoi[w] for w in sent if random.random() < p_keep[stoi[w]].item()]
            for i, c in enumerate(ids):
                w = random.randint(1, window)
                for j in range(max(0, i - w), min(len(ids), i + w + 1)):
                    if j != i:
                        pairs.append((c, ids[j]))
        self.pairs = torch.tensor(pairs, dtype=torch.long)

    def __len__(self):
        return len(self.pairs)

    def __getitem__(self, idx):
        return self.pairs[idx, 0], self.pairs[idx, 1]


class SGNS(nn.Module):
    def __init__(self, vocab, dim):
        super().__init__()
        self.in_embed = nn.Embedding(vocab, dim)
        self.out_embed = nn.Embedding(vocab, dim)
        init_range = 0.5 / dim
        self.in_embed.weight.data.uniform_(-init_range, init_range)
        self.out_embed.weight.data.zero_()

    def forward(self, center, context, negatives):
        v = self.in_embed(center)                      # (B, D)
        u = self.out_embed(context)                    # (B, D)
        u_neg = self.out_embed(negatives)              # (B, K, D)
        pos = F.logsigmoid((v * u).sum(-1))
        neg = F.logsigmoid(-torch.bmm(u_neg, v.unsqueeze(2)).squeeze(2)).sum(1)
        return -(pos + neg).mean()


ds = SkipGramDataset(corpus)
print("pairs:", len(ds))
loader = DataLoader(ds, batch_size=512, shuffle=True, num_workers=0)
model = SGNS(V, 24)
optimizer = torch.optim.SparseAdam(list(model.parameters()), lr=0.01) if False else \
    torch.optim.Adam(model.parameters(), lr=0.01)
K = 5
EPOCHS = 5
scheduler = torch.optim.lr_scheduler.LinearLR(optimizer, start_factor=1.0, end_factor=0.1,
                                              total_iters=EPOCHS * len(loader))
for epoch in range(EPOCHS):
    total, nb = 0.0, 0
    for center, context in loader:
        negatives = torch.multinomial(noise_dist, center.size(0) * K, replacement=True).view(-1, K)
        loss = model(center, context, negatives)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        scheduler.step()
        total += loss.item()
        nb += 1
    print(f"epoch {epoch + 1}: loss {total / nb:.4f}  lr {optimizer.param_groups[0]['lr']:.5f}")


def nearest(word, k=5):
    emb = F.normalize(model.in_embed.weight.detach(), dim=1)
    q = emb[stoi[word]]
    sims = emb @ q
    vals, idx = sims.topk(k + 1)
    return [(itos[i], round(v, 3)) for v, i in zip(vals.tolist()[1:], idx.tolist()[1:])]


for w in ["cat", "pizza", "server", "snow"]:
    print(w, "->", nearest(w))

# topic purity of nearest neighbours
emb = F.normalize(model.in_embed.weight.detach(), dim=1)
sim = emb @ emb.T
sim.fill_diagonal_(-float("inf"))
topic_of = torch.full((V,), -1, dtype=torch.long)
for ti, (name, words) in enumerate(topics.items()):
    topic_of[[stoi[w] for w in words]] = ti
mask = topic_of >= 0
nn_idx = sim.argmax(dim=1)
purity = (topic_of[nn_idx] == topic_of)[mask].float().mean()
print(f"nearest-neighbour topic purity: {purity:.3f}")

# analogy-ish: cluster centroids
centroids = torch.stack([emb[topic_of == ti].mean(0) for ti in range(len(topics))])
assign = torch.cdist(emb[mask], centroids).argmin(1)
print("centroid accuracy:", (assign == topic_of[mask]).float().mean().item())
emb_path = os.path.join(tempfile.mkdtemp(), "w2v_emb.npy")
np.save(emb_path, model.in_embed.weight.detach().cpu().numpy())
print("saved", np.load(emb_path).shape)
