"""Kipf's pygcn (github.com/tkipf/pygcn: layers.py, models.py, utils.py, train.py) as it is written, on a
synthetic citation-like graph instead of Cora: a stochastic block model whose nodes carry bag-of-words
features drawn from their community's vocabulary. The adjacency is a torch sparse tensor (made symmetric,
self loops added, row-normalised D^-1 (A + I) with torch.sparse.sum, built with the legacy
torch.sparse.FloatTensor constructor as pygcn's sparse_mx_to_torch_sparse_tensor does), the layers multiply it
with torch.spmm, and training is pygcn's: dropout, ReLU, log_softmax, nll_loss, Adam with weight decay."""
import math
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
import torch.optim as optim
from torch.nn.modules.module import Module
from torch.nn.parameter import Parameter

seed = 42
np.random.seed(seed)
torch.manual_seed(seed)


# ---------------------------------------------------------------- layers.py
class GraphConvolution(Module):
    """
    Simple GCN layer, similar to https://arxiv.org/abs/1609.02907
    """

    def __init__(self, in_features, out_features, bias=True):
        super(GraphConvolution, self).__init__()
        self.in_features = in_features
        self.out_features = out_features
        self.weight = Parameter(torch.FloatTensor(in_features, out_features))
        if bias:
            self.bias = Parameter(torch.FloatTensor(out_features))
        else:
            self.register_parameter('bias', None)
        self.reset_parameters()

    def reset_parameters(self):
        stdv = 1. / math.sqrt(self.weight.size(1))
        self.weight.data.uniform_(-stdv, stdv)
        if self.bias is not None:
            self.bias.data.uniform_(-stdv, stdv)

    def forward(self, input, adj):
        support = torch.mm(input, self.weight)
        output = torch.spmm(adj, support)
        if self.bias is not None:
            return output + self.bias
        else:
            return output

    def __repr__(self):
        return self.__class__.__name__ + ' (' \
               + str(self.in_features) + ' -> ' \
               + str(self.out_features) + ')'


# ---------------------------------------------------------------- models.py
class GCN(nn.Module):
    def __init__(self, nfeat, nhid, nclass, dropout):
        super(GCN, self).__init__()

        self.gc1 = GraphConvolution(nfeat, nhid)
        self.gc2 = GraphConvolution(nhid, nclass)
        self.dropout = dropout

    def forward(self, x, adj):
        x = F.relu(self.gc1(x, adj))
        x = F.dropout(x, self.dropout, training=self.training)
        x = self.gc2(x, adj)
        return F.log_softmax(x, dim=1)


# ---------------------------------------------------------------- utils.py (a synthetic graph for Cora)
def encode_onehot(labels):
    classes = sorted(set(labels))
    classes_dict = {c: np.identity(len(classes))[i, :] for i, c in enumerate(classes)}
    labels_onehot = np.array(list(map(classes_dict.get, labels)), dtype=np.int32)
    return labels_onehot


def synthetic_citations(sizes=(70, 60, 80, 50, 60), p_in=0.05, p_out=0.004, vocab=200, words=12):
    labels = np.concatenate([np.full(s, c) for c, s in enumerate(sizes)])
    n, k = len(labels), len(sizes)
    probs = np.where(labels[:, None] == labels[None, :], p_in, p_out)
    row, col = np.nonzero(np.triu(np.random.rand(n, n) < probs, k=1))  # each citation once
    topic_words = np.random.rand(k, vocab) < 0.15
    p_word = np.where(topic_words[labels], words / (0.15 * vocab) * 0.6, 0.02)
    features = (np.random.rand(n, vocab) < p_word).astype(np.float32)
    return features, np.stack([row, col]), labels


def normalize_features(mx):
    """Row-normalize a dense feature matrix"""
    rowsum = mx.sum(1, keepdims=True)
    rowsum[rowsum == 0] = 1
    return mx / rowsum


def normalized_adjacency(edges, n):
    """D^-1 (A + I) as a sparse tensor, A symmetric with its duplicates merged"""
    edges = torch.from_numpy(edges).long()
    both = torch.cat([edges, edges.flip(0)], dim=1)
    adj = torch.sparse_coo_tensor(both, torch.ones(both.size(1)), (n, n)).coalesce()
    adj = torch.sparse_coo_tensor(adj.indices(), torch.ones_like(adj.values()), adj.shape)  # binary
    eye = torch.arange(n).unsqueeze(0).repeat(2, 1)
    adj = (adj + torch.sparse_coo_tensor(eye, torch.ones(n), (n, n))).coalesce()
    rowsum = torch.sparse.sum(adj, dim=1).to_dense()
    r_inv = rowsum.pow(-1)
    r_inv[torch.isinf(r_inv)] = 0.
    indices, values = adj.indices(), adj.values() * r_inv[adj.indices()[0]]
    return torch.sparse.FloatTensor(indices, values, torch.Size([n, n]))


def load_data():
    features, edges, labels = synthetic_citations()
    print('Loading synthetic citation graph: {} nodes, {} edges, {} features'.format(
        features.shape[0], edges.shape[1], features.shape[1]))
    labels = encode_onehot(labels)
    adj = normalized_adjacency(edges, features.shape[0])
    features = torch.FloatTensor(normalize_features(features))
    labels = torch.LongTensor(np.where(labels)[1])

    perm = torch.randperm(labels.size(0))
    idx_train = perm[:60]
    idx_val = perm[60:140]
    idx_test = perm[140:]
    return adj, features, labels, idx_train, idx_val, idx_test


def accuracy(output, labels):
    preds = output.max(1)[1].type_as(labels)
    correct = preds.eq(labels).double()
    correct = correct.sum()
    return correct / len(labels)


# ---------------------------------------------------------------- train.py
adj, features, labels, idx_train, idx_val, idx_test = load_data()
print('adjacency', adj.layout, adj.is_sparse, 'nnz', adj._nnz(),
      'row sums', round(float(adj.to_dense().sum(1).mean()), 4))

model = GCN(nfeat=features.shape[1], nhid=16, nclass=labels.max().item() + 1, dropout=0.5)
optimizer = optim.Adam(model.parameters(), lr=0.01, weight_decay=5e-4)


def train(epoch):
    t = time.time()
    model.train()
    optimizer.zero_grad()
    output = model(features, adj)
    loss_train = F.nll_loss(output[idx_train], labels[idx_train])
    acc_train = accuracy(output[idx_train], labels[idx_train])
    loss_train.backward()
    optimizer.step()

    model.eval()
    output = model(features, adj)

    loss_val = F.nll_loss(output[idx_val], labels[idx_val])
    acc_val = accuracy(output[idx_val], labels[idx_val])
    if epoch % 10 == 0 or epoch == 99:
        print('Epoch: {:04d}'.format(epoch + 1),
              'loss: {:.4f}'.format(loss_train.item()),
              'acc_train: {:.4f}'.format(acc_train.item()),
              'loss_val: {:.4f}'.format(loss_val.item()),
              'acc_val: {:.4f}'.format(acc_val.item()),
              'time: {:.4f}s'.format(time.time() - t))


def test():
    model.eval()
    output = model(features, adj)
    loss_test = F.nll_loss(output[idx_test], labels[idx_test])
    acc_test = accuracy(output[idx_test], labels[idx_test])
    print("Test set results:",
          "loss= {:.4f}".format(loss_test.item()),
          "accuracy: {:.4f}".format(acc_test.item()))


t_total = time.time()
for epoch in range(100):
    train(epoch)
print("Optimization Finished!")
print("Total time elapsed: {:.4f}s".format(time.time() - t_total))
test()
