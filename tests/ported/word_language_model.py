"""A word-level language model (Embedding -> LSTM -> Linear, tied sizes), trained with truncated
backpropagation through time as PyTorch's examples/word_language_model writes it: a vocabulary built
from the text, batchify/get_batch, hidden states detached between batches, gradient clipping and
perplexity."""
import math

import torch
import torch.nn as nn

torch.manual_seed(0)
device = torch.device("cuda" if torch.cuda.is_available() else "cpu")

TEXT = """the cat sat on the mat . the dog sat on the log . the cat saw the dog . the dog saw the cat .
a cat and a dog sat on a mat and a log . the mat was red and the log was brown . the cat was black .
the dog was white . the cat ran to the dog and the dog ran to the cat . they sat on the mat together .
""" * 8


class Dictionary(object):
    def __init__(self):
        self.word2idx = {}
        self.idx2word = []

    def add_word(self, word):
        if word not in self.word2idx:
            self.idx2word.append(word)
            self.word2idx[word] = len(self.idx2word) - 1
        return self.word2idx[word]

    def __len__(self):
        return len(self.idx2word)


def tokenize(text, dictionary):
    idss = []
    for line in text.splitlines():
        words = line.split() + ["<eos>"]
        for word in words:
            dictionary.add_word(word)
        idss.append(torch.tensor([dictionary.word2idx[w] for w in words]).type(torch.int64))
    return torch.cat(idss)


def batchify(data, bsz):
    nbatch = data.size(0) // bsz
    data = data.narrow(0, 0, nbatch * bsz)
    data = data.view(bsz, -1).t().contiguous()
    return data.to(device)


class RNNModel(nn.Module):
    def __init__(self, ntoken, ninp, nhid, nlayers, dropout=0.2):
        super(RNNModel, self).__init__()
        self.ntoken = ntoken
        self.drop = nn.Dropout(dropout)
        self.encoder = nn.Embedding(ntoken, ninp)
        self.rnn = nn.LSTM(ninp, nhid, nlayers, dropout=dropout)
        self.decoder = nn.Linear(nhid, ntoken)
        self.nhid, self.nlayers = nhid, nlayers
        initrange = 0.1
        nn.init.uniform_(self.encoder.weight, -initrange, initrange)
        nn.init.zeros_(self.decoder.bias)
        nn.init.uniform_(self.decoder.weight, -initrange, initrange)

    def forward(self, input, hidden):
        emb = self.drop(self.encoder(input))
        output, hidden = self.rnn(emb, hidden)
        output = self.drop(output)
        decoded = self.decoder(output)
        decoded = decoded.view(-1, self.ntoken)
        return nn.functional.log_softmax(decoded, dim=1), hidden

    def init_hidden(self, bsz):
        weight = next(self.parameters())
        return (weight.new_zeros(self.nlayers, bsz, self.nhid), weight.new_zeros(self.nlayers, bsz, self.nhid))


def repackage_hidden(h):
    """Wraps hidden states in new Tensors, to detach them from their history."""
    if isinstance(h, torch.Tensor):
        return h.detach()
    else:
        return tuple(repackage_hidden(v) for v in h)


bptt = 8


def get_batch(source, i):
    seq_len = min(bptt, len(source) - 1 - i)
    data = source[i:i + seq_len]
    target = source[i + 1:i + 1 + seq_len].view(-1)
    return data, target


corpus = Dictionary()
ids = tokenize(TEXT, corpus)
train_data = batchify(ids, 4)
ntokens = len(corpus)
model = RNNModel(ntokens, 32, 48, 2).to(device)
criterion = nn.NLLLoss()
lr = 4.0

for epoch in range(1, 13):
    model.train()
    total_loss = 0.0
    hidden = model.init_hidden(4)
    batches = 0
    for batch, i in enumerate(range(0, train_data.size(0) - 1, bptt)):
        data, targets = get_batch(train_data, i)
        model.zero_grad()
        hidden = repackage_hidden(hidden)
        output, hidden = model(data, hidden)
        loss = criterion(output, targets)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        for p in model.parameters():
            p.data.add_(p.grad, alpha=-lr)
        total_loss += loss.item()
        batches += 1
    cur_loss = total_loss / batches
    print(f"epoch {epoch} loss {cur_loss:.4f} ppl {math.exp(cur_loss):8.2f}")
