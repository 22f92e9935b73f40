"""An LSTM sequence classifier (batch_first, the last time step into a Linear layer), as the PyTorch
RNN classification tutorials write it: does a sequence of noisy values drift up or down?"""
import torch
import torch.nn as nn
from torch.utils.data import DataLoader, TensorDataset

torch.manual_seed(0)
device = torch.device("cuda" if torch.cuda.is_available() else "cpu")

seq_len, n = 20, 512
labels = torch.randint(0, 2, (n,))
slope = (labels.float() * 2 - 1).unsqueeze(1) * 0.1
t = torch.arange(seq_len).float().unsqueeze(0)
sequences = (slope * t + 0.3 * torch.randn(n, seq_len)).unsqueeze(-1)  # (n, seq_len, 1)
loader = DataLoader(TensorDataset(sequences[:448], labels[:448]), batch_size=64, shuffle=True)


class LSTMClassifier(nn.Module):
    def __init__(self, input_size, hidden_size, num_layers, num_classes):
        super().__init__()
        self.hidden_size = hidden_size
        self.num_layers = num_layers
        self.lstm = nn.LSTM(input_size, hidden_size, num_layers, batch_first=True)
        self.fc = nn.Linear(hidden_size, num_classes)

    def forward(self, x):
        h0 = torch.zeros(self.num_layers, x.size(0), self.hidden_size).to(x.device)
        c0 = torch.zeros(self.num_layers, x.size(0), self.hidden_size).to(x.device)
        out, _ = self.lstm(x, (h0, c0))
        return self.fc(out[:, -1, :])


model = LSTMClassifier(1, 32, 2, 2).to(device)
criterion = nn.CrossEntropyLoss()
optimizer = torch.optim.Adam(model.parameters(), lr=0.01)

for epoch in range(10):
    total_loss = 0.0
    for seqs, targets in loader:
        seqs, targets = seqs.to(device), targets.to(device)
        outputs = model(seqs)
        loss = criterion(outputs, targets)
        optimizer.zero_grad()
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), max_norm=1.0)
        optimizer.step()
        total_loss += loss.item()
    print(f"epoch {epoch + 1} loss {total_loss / len(loader):.4f}")

model.eval()
with torch.no_grad():
    test_x, test_y = sequences[448:].to(device), labels[448:].to(device)
    predictions = model(test_x).argmax(1)
    accuracy = (predictions == test_y).float().mean().item()
print(f"accuracy {accuracy:.4f}")
