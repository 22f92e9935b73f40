"""pytorch/examples gat/main.py (Velickovic et al., "Graph Attention Networks") as written: a
GraphAttentionLayer with ``W`` and ``a`` as ``nn.Parameter(torch.empty(size=...))`` initialised by
``nn.init.xavier_normal_``, multi-head attention scores from ``torch.matmul`` with slices of ``a`` and
``.mT``, LeakyReLU(0.2), the connectivity mask ``-9e16 * torch.ones_like(e)`` through ``torch.where``,
softmax over neighbours, dropout on the attention coefficients, heads concatenated
(``permute(1, 0, 2).contiguous().view``) or averaged, ELU between the layers, ``log_softmax`` + NLLLoss,
Adam with weight decay, and a dense adjacency written by advanced-index assignment plus self-loops
(the example's ``torch.sparse_coo_tensor(...)`` needs sparse tensors, which eigengrad has not). A second model uses the ``masked_fill(~mask, float('-inf'))`` idiom of many GAT re-implementations
and must agree. Cora is replaced by a stochastic block model whose node features are noisy community
centres (``torch.randperm`` split)."""
import time

import numpy as np
import torch
from torch import nn
import torch.nn.functional as F

torch.manual_seed(13)
np.random.seed(13)
device = torch.device("cuda" if torch.cuda.is_available() else "cpu")


class GraphAttentionLayer(nn.Module):
    """Graph Attention Layer (GAT) as described in the paper `"Graph Attention Networks" <https://arxiv.org/pdf/1710.10903.pdf>`."""

    def __init__(self, in_features: int, out_features: int, n_heads: int, concat: bool = False,
                 dropout: float = 0.4, leaky_relu_slope: float = 0.2):
        super(GraphAttentionLayer, self).__init__()
        self.n_heads = n_heads
        self.concat = concat
        self.dropout = dropout
        if concat:
            self.out_features = out_features
            assert out_features % n_heads == 0
            self.n_hidden = out_features // n_heads
        else:
            self.n_hidden = out_features
        self.W = nn.Parameter(torch.empty(size=(in_features, self.n_hidden * n_heads)))
        self.a = nn.Parameter(torch.empty(size=(n_heads, 2 * self.n_hidden, 1)))
        self.leakyrelu = nn.LeakyReLU(leaky_relu_slope)
        self.softmax = nn.Softmax(dim=1)
        self.reset_parameters()

    def reset_parameters(self):
        nn.init.xavier_normal_(self.W)
        nn.init.xavier_normal_(self.a)

    def _get_attention_scores(self, h_transformed: torch.Tensor):
        source_scores = torch.matmul(h_transformed, self.a[:, :self.n_hidden, :])
        target_scores = torch.matmul(h_transformed, self.a[:, self.n_hidden:, :])
        # broadcast add: (n_heads, n_nodes, 1) + (n_heads, 1, n_nodes) = (n_heads, n_nodes, n_nodes)
        e = source_scores + target_scores.mT
        return self.leakyrelu(e)

    def forward(self, h: torch.Tensor, adj_mat: torch.Tensor):
        n_nodes = h.shape[0]
        h_transformed = torch.mm(h, self.W)
        h_transformed = F.dropout(h_transformed, self.dropout, training=self.training)
        # splitting the heads by reshaping the tensor and putting heads dim first
        h_transformed = h_transformed.view(n_nodes, self.n_heads, self.n_hidden).permute(1, 0, 2)
        e = self._get_attention_scores(h_transformed)
        connectivity_mask = -9e16 * torch.ones_like(e)
        e = torch.where(adj_mat > 0, e, connectivity_mask)  # masked attention scores
        attention = F.softmax(e, dim=-1)
        attention = F.dropout(attention, self.dropout, training=self.training)
        h_prime = torch.matmul(attention, h_transformed)
        if self.concat:
            h_prime = h_prime.permute(1, 0, 2).contiguous().view(n_nodes, self.out_features)
        else:
            h_prime = h_prime.mean(dim=0)
        return h_prime


class MaskedGATLayer(GraphAttentionLayer):
    """The same layer with the scores of non-edges set to -inf by masked_fill (the other common idiom)."""

    def forward(self, h, adj_mat):
        n_nodes = h.shape[0]
        h_transformed = F.dropout(h @ self.W, self.dropout, training=self.training)
        h_transformed = h_transformed.reshape(n_nodes, self.n_heads, self.n_hidden).transpose(0, 1)
        e = self._get_attention_scores(h_transformed)
        e = e.masked_fill(~adj_mat.bool().unsqueeze(0), float('-inf'))
        attention = F.dropout(torch.softmax(e, dim=-1), self.dropout, training=self.training)
        h_prime = attention @ h_transformed
        if self.concat:
            return h_prime.transpose(0, 1).reshape(n_nodes, -1)
        return h_prime.mean(dim=0)


class GAT(nn.Module):
    def __init__(self, in_features, n_hidden, n_heads, num_classes, concat=False, dropout=0.4,
                 leaky_relu_slope=0.2, layer=GraphAttentionLayer):
        super(GAT, self).__init__()
        self.gat1 = layer(in_features=in_features, out_features=n_hidden, n_heads=n_heads, concat=concat,
                          dropout=dropout, leaky_relu_slope=leaky_relu_slope)
        self.gat2 = layer(in_features=n_hidden, out_features=num_classes, n_heads=1, concat=False,
                          dropout=dropout, leaky_relu_slope=leaky_relu_slope)

    def forward(self, input_tensor: torch.Tensor, adj_mat: torch.Tensor):
        x = self.gat1(input_tensor, adj_mat)
        x = F.elu(x)
        x = self.gat2(x, adj_mat)
        return F.log_softmax(x, dim=1)


def load_graph(sizes=(60, 50, 60, 50, 40), p_in=0.08, p_out=0.008, num_features=32, noise=3.5):
    """Stands in for load_cora: features, labels and a dense adjacency with self-loops."""
    n = sum(sizes)
    labels = np.concatenate([np.full(s, c) for c, s in enumerate(sizes)])
    probs = np.where(labels[:, None] == labels[None, :], p_in, p_out)
    upper = np.triu(np.random.rand(n, n) < probs, k=1)
    edges = np.argwhere(upper | upper.T)
    centres = np.random.randn(len(sizes), num_features)
    features = torch.FloatTensor(centres[labels] + noise * np.random.randn(n, num_features))
    features = features / features.norm(dim=1, keepdim=True)  # row-normalised, as load_cora does
    labels = torch.LongTensor(labels)
    edges = torch.LongTensor(edges)
    adj_mat = torch.zeros((n, n), dtype=torch.float32)
    adj_mat[edges[:, 0], edges[:, 1]] = 1.0
    adj_mat += torch.eye(n)
    return features, labels, adj_mat


def train_iter(epoch, model, optimizer, criterion, input, target, mask_train, mask_val, print_every=20):
    start_t = time.time()
    model.train()
    optimizer.zero_grad()
    output = model(*input)
    loss = criterion(output[mask_train], target[mask_train])
    loss.backward()
    optimizer.step()
    loss_train, acc_train = test(model, criterion, input, target, mask_train)
    loss_val, acc_val = test(model, criterion, input, target, mask_val)
    if epoch % print_every == 0 or epoch == 1:
        print(f'Epoch: {epoch:04d} ({(time.time() - start_t):.4f}s) loss {loss_train.item():.4f} '
              f'acc: {acc_train:.4f} val_loss: {loss_val.item():.4f} val_acc: {acc_val:.4f}')


def test(model, criterion, input, target, mask):
    model.eval()
    with torch.no_grad():
        output = model(*input)
        output, target = output[mask], target[mask]
        loss = criterion(output, target)
        acc = (output.argmax(dim=1) == target).float().sum() / len(target)
    return loss, acc.item()


features, labels, adj_mat = load_graph()
num_nodes = features.shape[0]
print(f'nodes {num_nodes} edges {int((adj_mat > 0).sum().item()) - num_nodes} classes {int(labels.max()) + 1}')
idx = torch.randperm(num_nodes).to(device)
idx_test, idx_val, idx_train = idx[:80], idx[80:130], idx[130:]

results = {}
for name, layer in [("gat", GraphAttentionLayer), ("masked", MaskedGATLayer)]:
    torch.manual_seed(13)
    gat_net = GAT(in_features=features.shape[1], n_hidden=32, n_heads=4, num_classes=int(labels.max()) + 1,
                  concat=True, dropout=0.5, leaky_relu_slope=0.2, layer=layer).to(device)
    optimizer = torch.optim.Adam(gat_net.parameters(), lr=0.005, weight_decay=5e-4)
    criterion = nn.NLLLoss()
    for epoch in range(1, 121):
        train_iter(epoch, gat_net, optimizer, criterion, (features, adj_mat), labels, idx_train, idx_val, 40)
    loss_test, acc_test = test(gat_net, criterion, (features, adj_mat), labels, idx_test)
    print(f'{name}: test_loss {loss_test:.4f} test_acc {acc_test:.4f}')
    results[name] = acc_test
    if name == "gat":
        with torch.no_grad():
            gat_net.eval()
            h = gat_net.gat1.W.new_ones(1) * 0 + features  # same features, through the first layer only
            e = gat_net.gat1._get_attention_scores(
                (h @ gat_net.gat1.W).view(num_nodes, 4, 8).permute(1, 0, 2))
            e = torch.where(adj_mat > 0, e, -9e16 * torch.ones_like(e))
            att = F.softmax(e, dim=-1)
        print(f'attention rows sum to 1: {torch.allclose(att.sum(-1), torch.ones(4, num_nodes))}, '
              f'mass off the graph {att[:, adj_mat == 0].sum().item():.2e}')

print(f'accuracy {min(results.values()):.4f}')
