"""GraphSAGE (Hamilton et al. 2017) without PyG: message passing over an edge list with scatter_reduce.

Each layer concatenates a node's own features with an aggregate of its neighbours' (mean through
index_add_ and a degree count, or an elementwise max through Tensor.scatter_reduce(reduce="amax",
include_self=False)), then L2-normalises the embeddings. Training is on mini-batches of seed nodes whose
2-hop neighbourhoods are sampled (a fixed fan-out per node, as NeighborLoader does); evaluation is
inductive: on a second graph, drawn from the same stochastic block model, that the model never saw.
"""
from dataclasses import dataclass

import torch
import torch.nn as nn
import torch.nn.functional as F

torch.manual_seed(0)
device = torch.device("cuda" if torch.cuda.is_available() else "cpu")


@dataclass
class Config:
    num_nodes: int = 600
    num_classes: int = 4
    in_dim: int = 16
    hidden: int = 32
    fanouts: tuple = (8, 6)
    batch_size: int = 64
    epochs: int = 12
    lr: float = 5e-3


def make_graph(cfg, p_in=0.03, p_out=0.004, noise=3.0, generator=None):
    """A stochastic block model whose node features are noisy class prototypes (noisy enough that a node's
    own features are a poor guide: its neighbourhood tells its class)."""
    y = torch.randint(0, cfg.num_classes, (cfg.num_nodes,), generator=generator)
    same = y[:, None] == y[None, :]
    prob = torch.where(same, torch.tensor(p_in), torch.tensor(p_out))
    adj = torch.rand(cfg.num_nodes, cfg.num_nodes, generator=generator) < prob
    adj = torch.triu(adj, diagonal=1)
    adj = adj | adj.T
    edge_index = adj.nonzero().T.contiguous()  # (2, E): source, target
    prototypes = torch.randn(cfg.num_classes, cfg.in_dim, generator=PROTO_GEN)
    x = prototypes[y] + noise * torch.randn(cfg.num_nodes, cfg.in_dim, generator=generator)
    return x, edge_index, y


def aggregate(x_src, edge_index, num_dst, how):
    src, dst = edge_index
    messages = x_src[src]
    if how == "mean":
        out = torch.zeros(num_dst, x_src.size(1), dtype=x_src.dtype, device=x_src.device)
        out.index_add_(0, dst, messages)
        deg = torch.bincount(dst, minlength=num_dst).clamp(min=1).unsqueeze(1).to(x_src.dtype)
        return out / deg
    if how == "max":
        out = torch.zeros(num_dst, x_src.size(1), dtype=x_src.dtype, device=x_src.device)
        index = dst.unsqueeze(1).expand_as(messages)
        return out.scatter_reduce(0, index, messages, reduce="amax", include_self=False)
    raise ValueError(how)


class SAGEConv(nn.Module):
    def __init__(self, in_dim, out_dim, aggr="mean"):
        super().__init__()
        self.aggr = aggr
        self.lin_self = nn.Linear(in_dim, out_dim)
        self.lin_neigh = nn.Linear(in_dim, out_dim, bias=False)
        if aggr == "max":
            self.pool = nn.Linear(in_dim, in_dim)

    def forward(self, x, edge_index, num_dst):
        h = F.relu(self.pool(x)) if self.aggr == "max" else x
        neigh = aggregate(h, edge_index, num_dst, self.aggr)
        return self.lin_self(x[:num_dst]) + self.lin_neigh(neigh)


class GraphSAGE(nn.Module):
    def __init__(self, cfg, aggrs=("max", "mean")):
        super().__init__()
        dims = [cfg.in_dim, cfg.hidden, cfg.hidden]
        self.convs = nn.ModuleList([SAGEConv(dims[i], dims[i + 1], a) for i, a in enumerate(aggrs)])
        self.classifier = nn.Linear(cfg.hidden, cfg.num_classes)
        self.dropout = nn.Dropout(0.2)

    def forward(self, x, blocks):
        for conv, (edge_index, num_dst) in zip(self.convs, blocks):
            x = conv(x, edge_index, num_dst)
            x = F.normalize(F.relu(x), p=2, dim=-1)
            x = self.dropout(x)
        return self.classifier(x)


def to_csr(edge_index, num_nodes):
    order = torch.argsort(edge_index[1], stable=True)
    src, dst = edge_index[0, order], edge_index[1, order]
    rowptr = torch.zeros(num_nodes + 1, dtype=torch.long)
    rowptr[1:] = torch.cumsum(torch.bincount(dst, minlength=num_nodes), 0)
    return rowptr, src


def sample_blocks(seeds, rowptr, col, fanouts, generator):
    """Sample a fixed number of in-neighbours per node, hop by hop; relabel so that each hop's
    destination nodes come first among its source nodes (as DGL's blocks and PyG's NeighborLoader do)."""
    layers = []
    nodes = seeds
    for fanout in fanouts:
        starts, ends = rowptr[nodes], rowptr[nodes + 1]
        deg = ends - starts
        picks = (torch.rand(len(nodes), fanout, generator=generator) * deg.unsqueeze(1).clamp(min=1)).long()
        nbr = col[(starts.unsqueeze(1) + picks).clamp(max=len(col) - 1)]
        valid = (deg > 0).unsqueeze(1).expand_as(nbr)
        dst_local = torch.arange(len(nodes)).unsqueeze(1).expand_as(nbr)[valid]
        nbr = nbr[valid]
        all_nodes = torch.cat([nodes, nbr])
        uniq, inverse = torch.unique(all_nodes, return_inverse=True)
        # keep the destination nodes first: order the unique ids by first occurrence
        first = torch.full((len(uniq),), len(all_nodes), dtype=torch.long)
        first.scatter_reduce_(0, inverse, torch.arange(len(all_nodes)), reduce="amin")
        order = torch.argsort(first)
        rank = torch.empty_like(order)
        rank[order] = torch.arange(len(order))
        src_local = rank[inverse[len(nodes):]]
        layers.append((torch.stack([src_local, dst_local]), len(nodes)))
        nodes = uniq[order]
    return nodes, layers[::-1]


@torch.no_grad()
def full_graph_eval(model, x, edge_index, y):
    model.eval()
    n = x.size(0)
    logits = model(x, [(edge_index, n)] * len(model.convs))
    return F.cross_entropy(logits, y).item(), (logits.argmax(1) == y).float().mean().item()


cfg = Config()
PROTO_GEN = torch.Generator().manual_seed(42)
x, edge_index, y = make_graph(cfg)
PROTO_GEN = torch.Generator().manual_seed(42)  # the same class prototypes for the unseen graph
x_new, edge_index_new, y_new = make_graph(cfg)
print(f"train graph: {x.size(0)} nodes, {edge_index.size(1)} edges; unseen graph: {edge_index_new.size(1)} edges")
x, edge_index, y = x.to(device), edge_index.to(device), y.to(device)

rowptr, col = to_csr(edge_index, cfg.num_nodes)
model = GraphSAGE(cfg).to(device)
optimizer = torch.optim.Adam(model.parameters(), lr=cfg.lr, weight_decay=5e-4)
scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=8, gamma=0.5)
sampler_gen = torch.Generator().manual_seed(1)

features_only = nn.Linear(cfg.in_dim, cfg.num_classes)  # a baseline that ignores the graph
base_opt = torch.optim.Adam(features_only.parameters(), lr=1e-2)
for _ in range(200):
    base_opt.zero_grad()
    F.cross_entropy(features_only(x), y).backward()
    base_opt.step()
with torch.no_grad():
    base_acc = (features_only(x_new).argmax(1) == y_new).float().mean().item()
print(f"features-only baseline on the unseen graph: {base_acc:.3f}")

loss0, _ = full_graph_eval(model, x, edge_index, y)
print(f"epoch -1 loss {loss0:.4f}")
for epoch in range(cfg.epochs):
    model.train()
    perm = torch.randperm(cfg.num_nodes)
    total = 0.0
    for i in range(0, cfg.num_nodes, cfg.batch_size):
        seeds = perm[i:i + cfg.batch_size]
        input_nodes, blocks = sample_blocks(seeds, rowptr, col, cfg.fanouts, sampler_gen)
        logits = model(x[input_nodes], blocks)
        loss = F.cross_entropy(logits, y[seeds])
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        total += loss.item() * len(seeds)
    scheduler.step()
    train_loss, train_acc = full_graph_eval(model, x, edge_index, y)
    _, new_acc = full_graph_eval(model, x_new.to(device), edge_index_new.to(device), y_new.to(device))
    print(f"epoch {epoch} batch_loss {total / cfg.num_nodes:.4f} loss {train_loss:.4f} "
          f"train_acc {train_acc:.3f} inductive_acc {new_acc:.3f}")

print(f"accuracy {new_acc:.3f} gain_over_features {new_acc - base_acc:.3f}")
