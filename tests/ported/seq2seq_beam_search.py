import random
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.nn.utils.rnn import pad_sequence, pack_padded_sequence, pad_packed_sequence

torch.manual_seed(0)
random.seed(0)
device = 'cuda' if torch.cuda.is_available() else 'cpu'
PAD, SOS, EOS = 0, 1, 2
V = 13  # tokens 3..12 are digits 0..9


def make_pair():
    n = random.randint(3, 7)
    src = [random.randint(3, 12) for _ in range(n)]
    tgt = list(reversed(src))  # task: reverse the sequence
    tgt = [t if t % 2 else t for t in tgt]
    return torch.tensor(src), torch.tensor([SOS] + tgt + [EOS])


def collate(pairs):
    srcs, tgts = zip(*pairs)
    lens = torch.tensor([len(s) for s in srcs])
    return pad_sequence(srcs, batch_first=True, padding_value=PAD), lens, \
        pad_sequence(tgts, batch_first=True, padding_value=PAD)


class Encoder(nn.Module):
    def __init__(self, v, e, h):
        super().__init__()
        self.emb = nn.Embedding(v, e, padding_idx=PAD)
        self.rnn = nn.GRU(e, h, batch_first=True, bidirectional=True)
        self.fc = nn.Linear(2 * h, h)

    def forward(self, src, lens):
        packed = pack_padded_sequence(self.emb(src), lens.cpu(), batch_first=True, enforce_sorted=False)
        out, hidden = self.rnn(packed)
        out, _ = pad_packed_sequence(out, batch_first=True, total_length=src.size(1))
        hidden = torch.tanh(self.fc(torch.cat((hidden[-2], hidden[-1]), dim=1)))
        return out, hidden


class Attention(nn.Module):
    def __init__(self, h):
        super().__init__()
        self.W = nn.Linear(3 * h, h)
        self.v = nn.Linear(h, 1, bias=False)

    def forward(self, hidden, enc_out, mask):
        T = enc_out.size(1)
        hid = hidden.unsqueeze(1).expand(-1, T, -1)
        energy = self.v(torch.tanh(self.W(torch.cat((hid, enc_out), dim=2)))).squeeze(2)
        energy = energy.masked_fill(mask == 0, -1e10)
        return F.softmax(energy, dim=1)


class Decoder(nn.Module):
    def __init__(self, v, e, h):
        super().__init__()
        self.emb = nn.Embedding(v, e)
        self.attn = Attention(h)
        self.rnn = nn.GRUCell(e + 2 * h, h)
        self.out = nn.Linear(h + 2 * h + e, v)

    def forward(self, tok, hidden, enc_out, mask):
        e = self.emb(tok)
        a = self.attn(hidden, enc_out, mask)
        ctx = torch.bmm(a.unsqueeze(1), enc_out).squeeze(1)
        hidden = self.rnn(torch.cat((e, ctx), dim=1), hidden)
        return self.out(torch.cat((hidden, ctx, e), dim=1)), hidden, a


class Seq2Seq(nn.Module):
    def __init__(self, v=V, e=32, h=64):
        super().__init__()
        self.enc, self.dec = Encoder(v, e, h), Decoder(v, e, h)

    def forward(self, src, lens, tgt, tf_ratio=0.5):
        B, T = tgt.shape
        outputs = torch.zeros(B, T - 1, V, device=src.device)
        enc_out, hidden = self.enc(src, lens)
        mask = src != PAD
        tok = tgt[:, 0]
        for t in range(1, T):
            logits, hidden, _ = self.dec(tok, hidden, enc_out, mask)
            outputs[:, t - 1] = logits
            teacher = random.random() < tf_ratio
            tok = tgt[:, t] if teacher else logits.argmax(1)
        return outputs

    @torch.no_grad()
    def beam_search(self, src, lens, beam=4, max_len=12, len_penalty=0.7):
        enc_out, hidden = self.enc(src, lens)  # src batch of 1
        enc_out = enc_out.expand(beam, -1, -1)
        mask = (src != PAD).expand(beam, -1)
        hidden = hidden.repeat(beam, 1)
        seqs = torch.full((beam, 1), SOS, dtype=torch.long, device=src.device)
        scores = torch.zeros(beam, device=src.device)
        scores[1:] = float('-inf')  # only first beam alive initially
        finished = torch.zeros(beam, dtype=torch.bool, device=src.device)
        for step in range(max_len):
            logits, hidden, _ = self.dec(seqs[:, -1], hidden, enc_out, mask)
            logp = F.log_softmax(logits, dim=-1)
            # finished beams can only emit PAD with 0 cost
            logp = torch.where(finished.unsqueeze(1), torch.full_like(logp, float('-inf')), logp)
            logp[:, PAD] = torch.where(finished, torch.zeros_like(scores), torch.full_like(scores, float('-inf')))
            cand = (scores.unsqueeze(1) + logp).view(-1)
            top_scores, top_idx = cand.topk(beam)
            beam_idx = torch.div(top_idx, V, rounding_mode='floor')
            tok_idx = top_idx % V
            seqs = torch.cat([seqs.index_select(0, beam_idx), tok_idx.unsqueeze(1)], dim=1)
            hidden = hidden.gather(0, beam_idx.unsqueeze(1).expand(-1, hidden.size(1)))
            finished = finished[beam_idx] | (tok_idx == EOS)
            scores = top_scores
            if finished.all():
                break
        lengths = ((seqs != PAD) & (seqs != SOS)).sum(1).float()
        normed = scores / lengths.pow(len_penalty)
        order = torch.argsort(normed, descending=True)
        best = seqs[order[0]]
        best = best[(best != SOS) & (best != PAD)]
        return best[best != EOS].tolist(), normed[order]


model = Seq2Seq().to(device)
opt = torch.optim.Adam(model.parameters(), lr=2e-3)
criterion = nn.CrossEntropyLoss(ignore_index=PAD, label_smoothing=0.1)
val = collate([make_pair() for _ in range(200)])
for step in range(400):
    model.train()
    src, lens, tgt = collate([make_pair() for _ in range(32)])
    src, tgt = src.to(device), tgt.to(device)
    out = model(src, lens, tgt, tf_ratio=max(0.2, 1 - step / 300))
    loss = criterion(out.reshape(-1, V), tgt[:, 1:].reshape(-1))
    opt.zero_grad()
    loss.backward()
    nn.utils.clip_grad_norm_(model.parameters(), max_norm=1.0)
    opt.step()
    if step % 80 == 0 or step == 399:
        model.eval()
        with torch.no_grad():
            vs, vl, vt = val
            vo = model(vs, vl, vt, tf_ratio=0.0)
            pred = vo.argmax(-1)
            m = vt[:, 1:] != PAD
            tok_acc = ((pred == vt[:, 1:]) & m).sum() / m.sum()
            seq_acc = ((pred == vt[:, 1:]) | ~m).all(dim=1).float().mean()
        print(f"step {step:3d} loss {loss.item():.4f} val tok acc {tok_acc:.3f} seq acc {seq_acc:.3f}")

model.eval()
correct = 0
for i in range(20):
    s, t = make_pair()
    hyp, sc = model.beam_search(s.unsqueeze(0), torch.tensor([len(s)]), beam=4)
    ref = t[1:-1].tolist()
    correct += hyp == ref
    if i < 3:
        print(f"src {s.tolist()} ref {ref} hyp {hyp} scores {sc}")
print(f"beam exact match {correct}/20")
