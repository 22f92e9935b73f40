"""BERT-style masked language modelling on synthetic "sentences" (a tiny encoder pre-trained from scratch).

Padding + src_key_padding_mask, learned positional embeddings, the 80/10/10 masking recipe with
torch.bernoulli, CrossEntropyLoss(ignore_index=-100), AdamW with no decay on biases/LayerNorm,
linear warmup then linear decay through LambdaLR.
"""
import math
import torch
import torch.nn as nn
from torch.utils.data import Dataset, DataLoader

torch.manual_seed(0)
device = torch.device("cuda" if torch.cuda.is_available() else "cpu")

PAD, CLS, SEP, MASK = 0, 1, 2, 3
N_SPECIAL = 4
VOCAB = 24
MAX_LEN = 20


class ArithmeticSentences(Dataset):
    """Each sentence is an arithmetic progression mod the word count: a masked word follows from its neighbours."""

    def __init__(self, n, seed):
        g = torch.Generator().manual_seed(seed)
        self.items = []
        n_words = VOCAB - N_SPECIAL
        for _ in range(n):
            length = int(torch.randint(8, MAX_LEN - 1, (1,), generator=g))
            start = int(torch.randint(0, n_words, (1,), generator=g))
            step = int(torch.randint(1, 4, (1,), generator=g))
            words = [(start + i * step) % n_words + N_SPECIAL for i in range(length - 2)]
            self.items.append(torch.tensor([CLS] + words + [SEP]))

    def __len__(self):
        return len(self.items)

    def __getitem__(self, idx):
        return self.items[idx]


def collate(batch):
    ids = nn.utils.rnn.pad_sequence(batch, batch_first=True, padding_value=PAD)
    attention_mask = ids != PAD
    return ids, attention_mask


def mask_tokens(inputs, attention_mask, mlm_probability=0.15):
    labels = inputs.clone()
    special = (inputs == CLS) | (inputs == SEP) | ~attention_mask
    probability_matrix = torch.full(labels.shape, mlm_probability)
    probability_matrix.masked_fill_(special, value=0.0)
    masked_indices = torch.bernoulli(probability_matrix).bool()
    labels[~masked_indices] = -100
    # 80% of the time replace with [MASK]
    indices_replaced = torch.bernoulli(torch.full(labels.shape, 0.8)).bool() & masked_indices
    inputs = inputs.clone()
    inputs[indices_replaced] = MASK
    # 10% of the time a random word, the rest unchanged
    indices_random = torch.bernoulli(torch.full(labels.shape, 0.5)).bool() & masked_indices & ~indices_replaced
    random_words = torch.randint(N_SPECIAL, VOCAB, labels.shape, dtype=torch.long)
    inputs[indices_random] = random_words[indices_random]
    return inputs, labels


class MiniBert(nn.Module):
    def __init__(self, vocab_size, d_model=64, nhead=4, num_layers=2, dim_ff=128, max_len=64, dropout=0.1):
        super().__init__()
        self.tok_emb = nn.Embedding(vocab_size, d_model, padding_idx=PAD)
        self.pos_emb = nn.Embedding(max_len, d_model)
        self.emb_norm = nn.LayerNorm(d_model)
        self.drop = nn.Dropout(dropout)
        layer = nn.TransformerEncoderLayer(d_model, nhead, dim_ff, dropout, activation="gelu", batch_first=True)
        self.encoder = nn.TransformerEncoder(layer, num_layers, enable_nested_tensor=False)
        self.mlm_head = nn.Sequential(nn.Linear(d_model, d_model), nn.GELU(), nn.LayerNorm(d_model))
        self.decoder = nn.Linear(d_model, vocab_size)
        self.decoder.weight = self.tok_emb.weight  # tied input/output embeddings
        self.apply(self._init_weights)

    @staticmethod
    def _init_weights(module):
        if isinstance(module, nn.Linear):
            nn.init.normal_(module.weight, mean=0.0, std=0.02)
            if module.bias is not None:
                nn.init.zeros_(module.bias)
        elif isinstance(module, nn.Embedding):
            nn.init.normal_(module.weight, mean=0.0, std=0.02)
            if module.padding_idx is not None:
                module.weight.data[module.padding_idx].zero_()

    def forward(self, input_ids, attention_mask):
        positions = torch.arange(input_ids.size(1), device=input_ids.device).unsqueeze(0).expand_as(input_ids)
        x = self.drop(self.emb_norm(self.tok_emb(input_ids) + self.pos_emb(positions)))
        h = self.encoder(x, src_key_padding_mask=~attention_mask)
        return self.decoder(self.mlm_head(h))


train_loader = DataLoader(ArithmeticSentences(1200, 1), batch_size=32, shuffle=True, collate_fn=collate)
eval_loader = DataLoader(ArithmeticSentences(200, 2), batch_size=100, collate_fn=collate)

model = MiniBert(VOCAB).to(device)
no_decay = ["bias", "norm"]
grouped = [
    {"params": [p for n, p in model.named_parameters() if not any(nd in n for nd in no_decay)], "weight_decay": 0.01},
    {"params": [p for n, p in model.named_parameters() if any(nd in n for nd in no_decay)], "weight_decay": 0.0},
]
optimizer = torch.optim.AdamW(grouped, lr=3e-3, betas=(0.9, 0.98), eps=1e-6)
epochs = 6
total_steps = epochs * len(train_loader)
warmup_steps = total_steps // 10


def lr_lambda(step):
    if step < warmup_steps:
        return float(step + 1) / float(max(1, warmup_steps))
    return max(0.0, float(total_steps - step) / float(max(1, total_steps - warmup_steps)))


scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lr_lambda)
criterion = nn.CrossEntropyLoss(ignore_index=-100)
n_params = sum(p.numel() for p in model.parameters() if p.requires_grad)
print(f"parameters {n_params} steps {total_steps} warmup {warmup_steps}")


def evaluate():
    model.eval()
    correct = total = 0
    loss_sum = 0.0
    torch.manual_seed(123)  # the same masks every evaluation
    with torch.no_grad():
        for ids, attn in eval_loader:
            ids, attn = ids.to(device), attn.to(device)
            inputs, labels = mask_tokens(ids, attn)
            logits = model(inputs, attn)
            loss_sum += criterion(logits.view(-1, VOCAB), labels.view(-1)).item()
            sel = labels != -100
            correct += (logits.argmax(-1)[sel] == labels[sel]).sum().item()
            total += sel.sum().item()
    model.train()
    return loss_sum / len(eval_loader), correct / max(total, 1)


step = 0
for epoch in range(epochs):
    model.train()
    running = 0.0
    for ids, attn in train_loader:
        ids, attn = ids.to(device), attn.to(device)
        inputs, labels = mask_tokens(ids, attn)
        logits = model(inputs, attn)
        loss = criterion(logits.view(-1, VOCAB), labels.view(-1))
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        scheduler.step()
        running += loss.item()
        step += 1
    val_loss, acc = evaluate()
    print(f"epoch {epoch} loss {running / len(train_loader):.4f} val_loss {val_loss:.4f} "
          f"lr {scheduler.get_last_lr()[0]:.2e} perplexity {math.exp(val_loss):.2f}")
print(f"masked_accuracy {acc:.3f}")
