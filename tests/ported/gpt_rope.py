import math
from dataclasses import dataclass
import torch
import torch.nn as nn
import torch.nn.functional as F

torch.manual_seed(1337)
torch.set_float32_matmul_precision('high')
device = 'cuda' if torch.cuda.is_available() else 'cpu'
dtype = torch.bfloat16 if torch.cuda.is_available() and torch.cuda.is_bf16_supported() else torch.float32


@dataclass
class Config:
    vocab_size: int = 64
    block_size: int = 32
    n_layer: int = 2
    n_head: int = 4
    n_embd: int = 64
    dropout: float = 0.0


def precompute_rope(dim, seq_len, theta=10000.0):
    inv_freq = 1.0 / (theta ** (torch.arange(0, dim, 2).float() / dim))
    t = torch.arange(seq_len, dtype=torch.float32)
    freqs = torch.outer(t, inv_freq)
    return freqs.cos(), freqs.sin()


def apply_rope(x, cos, sin):
    # x: (B, H, T, D)
    x1, x2 = x[..., ::2], x[..., 1::2]
    cos, sin = cos[None, None], sin[None, None]
    out = torch.stack([x1 * cos - x2 * sin, x1 * sin + x2 * cos], dim=-1)
    return out.flatten(-2).type_as(x)


class RMSNorm(nn.Module):
    def __init__(self, dim, eps=1e-6):
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(dim))

    def forward(self, x):
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps) * self.weight


class Attention(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.n_head = cfg.n_head
        self.hd = cfg.n_embd // cfg.n_head
        self.qkv = nn.Linear(cfg.n_embd, 3 * cfg.n_embd, bias=False)
        self.proj = nn.Linear(cfg.n_embd, cfg.n_embd, bias=False)

    def forward(self, x, cos, sin, kv_cache=None):
        B, T, C = x.size()
        q, k, v = self.qkv(x).split(C, dim=2)
        q = q.view(B, T, self.n_head, self.hd).transpose(1, 2)
        k = k.view(B, T, self.n_head, self.hd).transpose(1, 2)
        v = v.view(B, T, self.n_head, self.hd).transpose(1, 2)
        q, k = apply_rope(q, cos, sin), apply_rope(k, cos, sin)
        if kv_cache is not None:
            pk, pv = kv_cache
            if pk is not None:
                k = torch.cat([pk, k], dim=2)
                v = torch.cat([pv, v], dim=2)
            new_cache = (k, v)
            y = F.scaled_dot_product_attention(q, k, v, is_causal=(pk is None and T > 1))
        else:
            new_cache = None
            y = F.scaled_dot_product_attention(q, k, v, is_causal=True)
        y = y.transpose(1, 2).contiguous().view(B, T, C)
        return self.proj(y), new_cache


class SwiGLU(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        hidden = int(8 * cfg.n_embd / 3)
        self.w1 = nn.Linear(cfg.n_embd, hidden, bias=False)
        self.w3 = nn.Linear(cfg.n_embd, hidden, bias=False)
        self.w2 = nn.Linear(hidden, cfg.n_embd, bias=False)

    def forward(self, x):
        return self.w2(F.silu(self.w1(x)) * self.w3(x))


class Block(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.ln1, self.ln2 = RMSNorm(cfg.n_embd), nn.RMSNorm(cfg.n_embd, eps=1e-6)
        self.attn, self.mlp = Attention(cfg), SwiGLU(cfg)

    def forward(self, x, cos, sin, kv_cache=None):
        a, cache = self.attn(self.ln1(x), cos, sin, kv_cache)
        x = x + a
        return x + self.mlp(self.ln2(x)), cache


class GPT(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.cfg = cfg
        self.wte = nn.Embedding(cfg.vocab_size, cfg.n_embd)
        self.blocks = nn.ModuleList([Block(cfg) for _ in range(cfg.n_layer)])
        self.ln_f = RMSNorm(cfg.n_embd)
        self.lm_head = nn.Linear(cfg.n_embd, cfg.vocab_size, bias=False)
        self.wte.weight = self.lm_head.weight  # weight tying
        cos, sin = precompute_rope(cfg.n_embd // cfg.n_head, cfg.block_size * 2)
        self.register_buffer('rope_cos', cos, persistent=False)
        self.register_buffer('rope_sin', sin, persistent=False)
        self.apply(self._init_weights)
        for pn, p in self.named_parameters():
            if pn.endswith('proj.weight') or pn.endswith('w2.weight'):
                torch.nn.init.normal_(p, mean=0.0, std=0.02 / math.sqrt(2 * cfg.n_layer))

    def _init_weights(self, m):
        if isinstance(m, nn.Linear):
            torch.nn.init.normal_(m.weight, mean=0.0, std=0.02)
            if m.bias is not None:
                torch.nn.init.zeros_(m.bias)
        elif isinstance(m, nn.Embedding):
            torch.nn.init.normal_(m.weight, mean=0.0, std=0.02)

    def forward(self, idx, targets=None, caches=None, pos=0):
        B, T = idx.shape
        x = self.wte(idx)
        cos, sin = self.rope_cos[pos:pos + T], self.rope_sin[pos:pos + T]
        new_caches = []
        for i, blk in enumerate(self.blocks):
            x, c = blk(x, cos, sin, None if caches is None else caches[i])
            new_caches.append(c)
        logits = self.lm_head(self.ln_f(x))
        loss = None
        if targets is not None:
            loss = F.cross_entropy(logits.view(-1, logits.size(-1)), targets.reshape(-1), ignore_index=-1)
        return logits, loss, new_caches

    def configure_optimizers(self, weight_decay, lr):
        param_dict = {pn: p for pn, p in self.named_parameters() if p.requires_grad}
        decay = [p for n, p in param_dict.items() if p.dim() >= 2]
        nodecay = [p for n, p in param_dict.items() if p.dim() < 2]
        print(f"num decayed tensors: {len(decay)}, {sum(p.numel() for p in decay):,} params; "
              f"non-decayed: {len(nodecay)}, {sum(p.numel() for p in nodecay):,} params")
        groups = [{'params': decay, 'weight_decay': weight_decay}, {'params': nodecay, 'weight_decay': 0.0}]
        return torch.optim.AdamW(groups, lr=lr, betas=(0.9, 0.95), fused=False)

    @torch.no_grad()
    def generate(self, idx, max_new_tokens, temperature=1.0, top_k=None, top_p=None):
        caches = [(None, None) for _ in self.blocks]
        logits, _, caches = self(idx, caches=caches, pos=0)
        pos = idx.size(1)
        for _ in range(max_new_tokens):
            logits = logits[:, -1, :] / temperature
            if top_k is not None:
                v, _ = torch.topk(logits, min(top_k, logits.size(-1)))
                logits[logits < v[:, [-1]]] = -float('Inf')
            if top_p is not None:
                sorted_logits, sorted_idx = torch.sort(logits, descending=True)
                cum = torch.cumsum(F.softmax(sorted_logits, dim=-1), dim=-1)
                remove = cum > top_p
                remove[..., 1:] = remove[..., :-1].clone()
                remove[..., 0] = False
                to_remove = remove.scatter(1, sorted_idx, remove)
                logits = logits.masked_fill(to_remove, float('-inf'))
            probs = F.softmax(logits, dim=-1)
            idx_next = torch.multinomial(probs, num_samples=1)
            idx = torch.cat((idx, idx_next), dim=1)
            logits, _, caches = self(idx_next, caches=caches, pos=pos)
            pos += 1
        return idx


# synthetic data: repeating arithmetic sequences mod vocab
cfg = Config()
def get_batch(bs):
    start = torch.randint(0, cfg.vocab_size, (bs, 1))
    stride = torch.randint(1, 4, (bs, 1))
    seq = (start + stride * torch.arange(cfg.block_size + 1)) % cfg.vocab_size
    return seq[:, :-1].to(device), seq[:, 1:].to(device)

model = GPT(cfg).to(device)
print(f"tied: {model.wte.weight is model.lm_head.weight}; params: {sum(p.numel() for p in model.parameters())}")
raw_model = model
if hasattr(torch, 'compile') and False:
    model = torch.compile(model)
optimizer = raw_model.configure_optimizers(0.1, 3e-3)
max_iters, warmup, accum = 150, 15, 2
def lr_lambda(it):
    if it < warmup:
        return (it + 1) / warmup
    progress = (it - warmup) / max(1, max_iters - warmup)
    return 0.1 + 0.9 * 0.5 * (1.0 + math.cos(math.pi * progress))
scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lr_lambda)
ctx = torch.autocast(device_type=device, dtype=dtype, enabled=(device == 'cuda'))
for it in range(max_iters):
    model.train()
    for micro in range(accum):
        X, Y = get_batch(16)
        with ctx:
            _, loss, _ = model(X, Y)
            loss = loss / accum
        loss.backward()
    norm = torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
    optimizer.step()
    scheduler.step()
    optimizer.zero_grad(set_to_none=True)
    if it % 30 == 0 or it == max_iters - 1:
        print(f"iter {it}: loss {loss.item() * accum:.4f}, norm {norm:.3f}, lr {scheduler.get_last_lr()[0]:.2e}")

model.eval()
prompt = torch.tensor([[3, 5, 7, 9]], device=device)
out = raw_model.generate(prompt, 12, temperature=0.8, top_k=10, top_p=0.9)
print("generated:", out[0].tolist())
out_greedy = raw_model.generate(prompt, 12, temperature=1e-3, top_k=1)
print("greedy:", out_greedy[0].tolist())
# check KV cache agrees with full forward
with torch.inference_mode():
    full, _, _ = raw_model(out_greedy[:, :-1])
    print("full-forward argmax:", full[0, 3:].argmax(-1).tolist())
