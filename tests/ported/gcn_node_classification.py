"""A 2-layer GCN (Kipf & Welling, ICLR 2017) for semi-supervised node classification, PyG-free, as the
"GCN from scratch" tutorials write it: edge_index as a (2, E) LongTensor, add_self_loops, degree with
scatter_add_, symmetric normalisation D^-1/2 (A + I) D^-1/2, message passing with index_add_, the
Planetoid-style split (20 labelled nodes per class), Adam with weight decay, dropout, early stopping on
the validation accuracy with copy.deepcopy(model.state_dict()). The graph is a stochastic block model
with 4 communities whose node features are noisy copies of the community's centre (Cora stands in)."""
import copy
import random
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

seed = 42
random.seed(seed)
np.random.seed(seed)
torch.manual_seed(seed)
device = torch.device('cuda' if torch.cuda.is_available() else 'cpu')


# ---------------------------------------------------------------- data: a stochastic block model
def stochastic_block_model(sizes, p_in, p_out, num_features, noise):
    n = sum(sizes)
    y = np.concatenate([np.full(s, c) for c, s in enumerate(sizes)])
    probs = np.where(y[:, None] == y[None, :], p_in, p_out)
    upper = np.triu(np.random.rand(n, n) < probs, k=1)
    adj = upper | upper.T
    centres = np.random.randn(len(sizes), num_features)
    x = centres[y] + noise * np.random.randn(n, num_features)
    row, col = np.nonzero(adj)
    edge_index = torch.tensor(np.stack([row, col]), dtype=torch.long)
    return torch.tensor(x, dtype=torch.float), edge_index, torch.from_numpy(y).long()


x, edge_index, y = stochastic_block_model([80, 70, 80, 70], p_in=0.06, p_out=0.01, num_features=16, noise=4.0)
num_nodes, num_classes = x.size(0), int(y.max()) + 1
print(f'nodes {num_nodes} edges {edge_index.size(1)} features {x.size(1)} classes {num_classes}')
print(f'class sizes {torch.bincount(y).tolist()}')
homophily = (y[edge_index[0]] == y[edge_index[1]]).float().mean().item()
print(f'edge homophily {homophily:.3f}')
assert (edge_index[0] != edge_index[1]).all(), 'no self loops yet'

# Planetoid split: 20 nodes per class for training, 80 for validation, the rest for testing
perm = torch.randperm(num_nodes)
train_mask = torch.zeros(num_nodes, dtype=torch.bool)
for c in range(num_classes):
    idx = perm[y[perm] == c][:20]
    train_mask[idx] = True
rest = perm[~train_mask[perm]]
val_mask = torch.zeros(num_nodes, dtype=torch.bool)
val_mask[rest[:80]] = True
test_mask = ~(train_mask | val_mask)
print(f'train {int(train_mask.sum())} val {int(val_mask.sum())} test {int(test_mask.sum())}')

# standardise the features, then move everything to the device
x = (x - x.mean(dim=0, keepdim=True)) / x.std(dim=0, keepdim=True)
x, edge_index, y = x.to(device), edge_index.to(device), y.to(device)
train_mask, val_mask, test_mask = train_mask.to(device), val_mask.to(device), test_mask.to(device)


# ---------------------------------------------------------------- the model
def add_self_loops(edge_index, num_nodes):
    loop_index = torch.arange(0, num_nodes, dtype=torch.long, device=edge_index.device)
    loop_index = loop_index.unsqueeze(0).repeat(2, 1)
    return torch.cat([edge_index, loop_index], dim=1)


def degree(index, num_nodes, dtype=None):
    out = torch.zeros((num_nodes,), dtype=dtype, device=index.device)
    one = torch.ones((index.size(0),), dtype=out.dtype, device=out.device)
    return out.scatter_add_(0, index, one)


def gcn_norm(edge_index, num_nodes):
    edge_index = add_self_loops(edge_index, num_nodes)
    row, col = edge_index[0], edge_index[1]
    deg = degree(col, num_nodes, dtype=torch.float)
    deg_inv_sqrt = deg.pow(-0.5)
    deg_inv_sqrt[deg_inv_sqrt == float('inf')] = 0
    norm = deg_inv_sqrt[row] * deg_inv_sqrt[col]
    return edge_index, norm


class GCNConv(nn.Module):
    def __init__(self, in_channels, out_channels):
        super().__init__()
        self.weight = nn.Parameter(torch.empty(in_channels, out_channels))
        self.bias = nn.Parameter(torch.empty(out_channels))
        self.reset_parameters()

    def reset_parameters(self):
        nn.init.xavier_uniform_(self.weight)
        nn.init.zeros_(self.bias)

    def forward(self, x, edge_index, norm):
        x = x @ self.weight
        row, col = edge_index
        messages = norm.view(-1, 1) * x[row]  # x_j scaled by 1/sqrt(d_i d_j)
        out = torch.zeros_like(x)
        out.index_add_(0, col, messages)  # aggregate at the target node
        return out + self.bias


class GCN(nn.Module):
    def __init__(self, in_channels, hidden_channels, out_channels, dropout=0.5):
        super().__init__()
        self.conv1 = GCNConv(in_channels, hidden_channels)
        self.conv2 = GCNConv(hidden_channels, out_channels)
        self.dropout = dropout

    def forward(self, x, edge_index, norm):
        x = F.dropout(x, p=self.dropout, training=self.training)
        x = F.relu(self.conv1(x, edge_index, norm))
        x = F.dropout(x, p=self.dropout, training=self.training)
        x = self.conv2(x, edge_index, norm)
        return F.log_softmax(x, dim=1)


edge_index_sl, norm = gcn_norm(edge_index, num_nodes)
print(f'with self loops {edge_index_sl.size(1)} edges, norm range [{norm.min().item():.3f}, {norm.max().item():.3f}]')
# sanity check against the dense normalised adjacency
A = torch.zeros(num_nodes, num_nodes, device=device)
A[edge_index_sl[0], edge_index_sl[1]] = 1.0
d = A.sum(1)
A_hat = A / torch.sqrt(d.unsqueeze(0) * d.unsqueeze(1))
probe = torch.randn(num_nodes, 3, device=device)
sparse_out = torch.zeros_like(probe).index_add_(0, edge_index_sl[1], norm.unsqueeze(-1) * probe[edge_index_sl[0]])
print(f'message passing matches dense A_hat @ X: {torch.allclose(sparse_out, A_hat @ probe, atol=1e-5)}')

model = GCN(x.size(1), 16, num_classes).to(device)
optimizer = torch.optim.Adam(model.parameters(), lr=0.01, weight_decay=5e-4)
print(model)
print(f'parameters {sum(p.numel() for p in model.parameters() if p.requires_grad)}')


def train():
    model.train()
    optimizer.zero_grad()
    out = model(x, edge_index_sl, norm)
    loss = F.nll_loss(out[train_mask], y[train_mask])
    loss.backward()
    optimizer.step()
    return loss.item()


@torch.no_grad()
def test():
    model.eval()
    pred = model(x, edge_index_sl, norm).argmax(dim=1)
    accs = []
    for mask in [train_mask, val_mask, test_mask]:
        accs.append(int((pred[mask] == y[mask]).sum()) / int(mask.sum()))
    return accs


best_val_acc, best_state, patience, bad_epochs = 0.0, None, 30, 0
t0 = time.time()
for epoch in range(1, 201):
    loss = train()
    train_acc, val_acc, test_acc = test()
    if val_acc > best_val_acc:
        best_val_acc, bad_epochs = val_acc, 0
        best_state = copy.deepcopy(model.state_dict())
    else:
        bad_epochs += 1
    if epoch % 10 == 0 or epoch == 1:
        print(f'epoch {epoch:03d} loss {loss:.4f} train {train_acc:.3f} val {val_acc:.3f} test {test_acc:.3f}')
    if bad_epochs >= patience:
        print(f'early stopping at epoch {epoch}')
        break
print(f'trained in {time.time() - t0:.1f}s')

model.load_state_dict(best_state)
train_acc, val_acc, test_acc = test()
print(f'best val {best_val_acc:.3f} (restored: val {val_acc:.3f})')

# compare with a plain MLP on the same features: the graph should help
mlp = nn.Sequential(nn.Dropout(0.5), nn.Linear(x.size(1), 16), nn.ReLU(), nn.Dropout(0.5),
                    nn.Linear(16, num_classes)).to(device)
opt = torch.optim.Adam(mlp.parameters(), lr=0.01, weight_decay=5e-4)
for _ in range(200):
    mlp.train()
    opt.zero_grad()
    F.cross_entropy(mlp(x)[train_mask], y[train_mask]).backward()
    opt.step()
mlp.eval()
with torch.no_grad():
    mlp_acc = (mlp(x).argmax(1)[test_mask] == y[test_mask]).float().mean().item()
print(f'MLP test accuracy {mlp_acc:.3f}')
print(f'accuracy {test_acc:.4f}')
