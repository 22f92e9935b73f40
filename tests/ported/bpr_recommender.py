"""Implicit-feedback recommendation: matrix factorisation trained with the BPR loss.

Sparse user/item embeddings (sparse=True) optimised by SparseAdam while the dense MLP-free bias term is
an nn.Parameter under Adam (two optimizers, as the PyTorch docs advise for sparse embeddings), negative
sampling that rejects known positives, scores via torch.einsum, F.logsigmoid BPR loss, leave-one-out
evaluation with HitRate@10 / NDCG@10 computed by masking seen items with -inf and torch.topk.
"""
import math
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.utils.data import Dataset, DataLoader

torch.manual_seed(0)
np.random.seed(0)
device = torch.device("cuda" if torch.cuda.is_available() else "cpu")

N_USERS, N_ITEMS, N_TASTES = 300, 200, 6
# users and items belong to latent taste groups; users interact mostly with items of their groups
user_taste = torch.randint(0, N_TASTES, (N_USERS,))
item_taste = torch.randint(0, N_TASTES, (N_ITEMS,))
popularity = torch.distributions.Dirichlet(torch.full((N_ITEMS,), 0.5)).sample()
interactions = []
for u in range(N_USERS):
    affinity = torch.where(item_taste == user_taste[u], 1.0, 0.05) * (popularity + 1e-3)
    items = torch.multinomial(affinity, num_samples=15, replacement=False)
    interactions.append(items)
interactions = torch.stack(interactions)  # (users, 15): the last one is held out for testing
train_items, test_items = interactions[:, :-1], interactions[:, -1]
train_matrix = torch.zeros(N_USERS, N_ITEMS, dtype=torch.bool)
train_matrix[torch.arange(N_USERS).unsqueeze(1), train_items] = True
print(f"users {N_USERS} items {N_ITEMS} train interactions {int(train_matrix.sum())} "
      f"density {train_matrix.float().mean().item():.3f}")


class BPRDataset(Dataset):
    def __init__(self, matrix, num_neg=2):
        self.matrix = matrix
        self.pairs = matrix.nonzero()  # (n, 2): user, positive item
        self.num_neg = num_neg

    def __len__(self):
        return len(self.pairs) * self.num_neg

    def __getitem__(self, idx):
        user, pos = self.pairs[idx // self.num_neg]
        neg = np.random.randint(N_ITEMS)
        while self.matrix[user, neg]:
            neg = np.random.randint(N_ITEMS)
        return user, pos, torch.tensor(neg)


class MF(nn.Module):
    def __init__(self, n_users, n_items, dim=32):
        super().__init__()
        self.user_emb = nn.Embedding(n_users, dim, sparse=True)
        self.item_emb = nn.Embedding(n_items, dim, sparse=True)
        self.item_bias = nn.Parameter(torch.zeros(n_items))
        nn.init.normal_(self.user_emb.weight, std=0.1)
        nn.init.normal_(self.item_emb.weight, std=0.1)

    def score(self, users, items):
        u, i = self.user_emb(users), self.item_emb(items)
        return torch.einsum("bd,bd->b", u, i) + self.item_bias[items]

    def forward(self, users, pos, neg):
        return self.score(users, pos), self.score(users, neg)

    def full_scores(self, users):
        return self.user_emb(users) @ self.item_emb.weight.t() + self.item_bias


def bpr_loss(pos_scores, neg_scores):
    return -F.logsigmoid(pos_scores - neg_scores).mean()


@torch.no_grad()
def evaluate(model, k=10):
    model.eval()
    users = torch.arange(N_USERS, device=device)
    scores = model.full_scores(users)
    scores = scores.masked_fill(train_matrix.to(device), float("-inf"))  # never recommend seen items
    _, topk = torch.topk(scores, k, dim=1)
    hits = (topk == test_items.to(device).unsqueeze(1))
    hit_rate = hits.any(dim=1).float().mean().item()
    ranks = hits.float().argmax(dim=1)
    ndcg = torch.where(hits.any(dim=1), 1.0 / torch.log2(ranks.float() + 2.0), torch.zeros(())).mean().item()
    model.train()
    return hit_rate, ndcg


model = MF(N_USERS, N_ITEMS).to(device)
sparse_params = [model.user_emb.weight, model.item_emb.weight]
optimizers = [torch.optim.SparseAdam(sparse_params, lr=1e-2),
              torch.optim.Adam([model.item_bias], lr=1e-2, weight_decay=1e-4)]
loader = DataLoader(BPRDataset(train_matrix), batch_size=256, shuffle=True)
hr0, ndcg0 = evaluate(model)
print(f"before training HR@10 {hr0:.3f} NDCG@10 {ndcg0:.3f}")
for epoch in range(8):
    total, batches = 0.0, 0
    for users, pos, neg in loader:
        users, pos, neg = users.to(device), pos.to(device), neg.to(device)
        for opt in optimizers:
            opt.zero_grad()
        pos_s, neg_s = model(users, pos, neg)
        loss = bpr_loss(pos_s, neg_s)
        # L2 on the rows used in the batch only (dense weight decay would touch every row)
        reg = 1e-4 * (model.user_emb(users).pow(2).sum() + model.item_emb(pos).pow(2).sum()
                      + model.item_emb(neg).pow(2).sum()) / users.size(0)
        (loss + reg).backward()
        for opt in optimizers:
            opt.step()
        total += loss.item()
        batches += 1
    hr, ndcg = evaluate(model)
    print(f"epoch {epoch + 1} loss {total / batches:.4f} HR@10 {hr:.3f} NDCG@10 {ndcg:.3f}")
popular = train_matrix.sum(0).float().masked_fill(torch.zeros(N_ITEMS, dtype=torch.bool), 0)
pop_scores = popular.expand(N_USERS, -1).masked_fill(train_matrix, float("-inf"))
pop_hr = (pop_scores.topk(10, dim=1).indices == test_items.unsqueeze(1)).any(1).float().mean().item()
print(f"popularity baseline HR@10 {pop_hr:.3f}")
print(f"hit_rate {hr:.3f} lift {hr - pop_hr:.3f}")
