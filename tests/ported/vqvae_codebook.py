"""VQ-VAE on tiny synthetic 16x16 shape images: conv encoder/decoder, a codebook nn.Embedding, nearest code by
expanded squared distances + argmin, straight-through estimator, commitment loss, perplexity / dead codes."""
import torch
import torch.nn as nn
import torch.nn.functional as F

torch.manual_seed(0)
device = torch.device("cuda" if torch.cuda.is_available() else "cpu")


def make_images(n):
    yy, xx = torch.meshgrid(torch.arange(16.0), torch.arange(16.0), indexing="ij")
    imgs = torch.zeros(n, 1, 16, 16)
    cx = torch.randint(4, 12, (n,)).float()
    cy = torch.randint(4, 12, (n,)).float()
    r = torch.rand(n) * 2 + 2
    kind = torch.randint(0, 2, (n,))
    for i in range(n):
        if kind[i] == 0:
            m = ((xx - cx[i]) ** 2 + (yy - cy[i]) ** 2) <= r[i] ** 2
        else:
            m = ((xx - cx[i]).abs() <= r[i]) & ((yy - cy[i]).abs() <= r[i])
        imgs[i, 0][m] = 1.0
    return imgs


class VectorQuantizer(nn.Module):
    def __init__(self, num_embeddings, embedding_dim, commitment_cost=0.25):
        super().__init__()
        self.embedding_dim = embedding_dim
        self.num_embeddings = num_embeddings
        self.embedding = nn.Embedding(num_embeddings, embedding_dim)
        self.embedding.weight.data.uniform_(-1 / num_embeddings, 1 / num_embeddings)
        self.commitment_cost = commitment_cost

    def forward(self, inputs):
        inputs = inputs.permute(0, 2, 3, 1).contiguous()  # BCHW -> BHWC
        input_shape = inputs.shape
        flat_input = inputs.view(-1, self.embedding_dim)
        distances = (torch.sum(flat_input ** 2, dim=1, keepdim=True)
                     + torch.sum(self.embedding.weight ** 2, dim=1)
                     - 2 * torch.matmul(flat_input, self.embedding.weight.t()))
        encoding_indices = torch.argmin(distances, dim=1).unsqueeze(1)
        encodings = torch.zeros(encoding_indices.shape[0], self.num_embeddings, device=inputs.device)
        encodings.scatter_(1, encoding_indices, 1)
        quantized = torch.matmul(encodings, self.embedding.weight).view(input_shape)
        e_latent_loss = F.mse_loss(quantized.detach(), inputs)
        q_latent_loss = F.mse_loss(quantized, inputs.detach())
        loss = q_latent_loss + self.commitment_cost * e_latent_loss
        quantized = inputs + (quantized - inputs).detach()  # straight-through
        avg_probs = torch.mean(encodings, dim=0)
        perplexity = torch.exp(-torch.sum(avg_probs * torch.log(avg_probs + 1e-10)))
        return loss, quantized.permute(0, 3, 1, 2).contiguous(), perplexity, encoding_indices.squeeze(1)


class VQVAE(nn.Module):
    def __init__(self, hidden=32, num_embeddings=32, embedding_dim=8):
        super().__init__()
        self.encoder = nn.Sequential(
            nn.Conv2d(1, hidden, 4, stride=2, padding=1), nn.ReLU(True),
            nn.Conv2d(hidden, hidden, 4, stride=2, padding=1), nn.ReLU(True),
            nn.Conv2d(hidden, embedding_dim, 1))
        self.vq = VectorQuantizer(num_embeddings, embedding_dim)
        self.decoder = nn.Sequential(
            nn.Conv2d(embedding_dim, hidden, 3, padding=1), nn.ReLU(True),
            nn.ConvTranspose2d(hidden, hidden, 4, stride=2, padding=1), nn.ReLU(True),
            nn.ConvTranspose2d(hidden, 1, 4, stride=2, padding=1))

    def forward(self, x):
        z = self.encoder(x)
        vq_loss, quantized, perplexity, idx = self.vq(z)
        return vq_loss, self.decoder(quantized), perplexity, idx


train = make_images(512)
test = make_images(128)
data_variance = train.var()
model = VQVAE().to(device)
optimizer = torch.optim.Adam(model.parameters(), lr=2e-3, amsgrad=False)
for step in range(1, 301):
    batch = train[torch.randint(0, len(train), (64,))].to(device)
    vq_loss, recon, perplexity, _ = model(batch)
    recon_error = F.mse_loss(recon, batch) / data_variance
    loss = recon_error + vq_loss
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    if step % 50 == 0 or step == 1:
        print(f"step {step} loss {loss.item():.4f} recon {recon_error.item():.4f} perplexity {perplexity.item():.2f}")

model.eval()
with torch.no_grad():
    x = test.to(device)
    z = model.encoder(x)
    flat = z.permute(0, 2, 3, 1).reshape(-1, z.shape[1])
    idx_cdist = torch.cdist(flat, model.vq.embedding.weight).argmin(dim=1)
    _, recon, perplexity, idx = model(x)
    counts = torch.bincount(idx, minlength=model.vq.num_embeddings)
    test_mse = F.mse_loss(recon, x).item()
    baseline = F.mse_loss(x.mean().expand_as(x), x).item()
    agree = (idx_cdist == idx).float().mean().item()
print(f"codes used {(counts > 0).sum().item()} of {counts.numel()} test_perplexity {perplexity.item():.2f}")
print(f"cdist agreement {agree:.3f}")
print(f"test mse {test_mse:.4f} vs mean baseline {baseline:.4f} gain {1 - test_mse / baseline:.3f}")
