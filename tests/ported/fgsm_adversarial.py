"""The official tutorial "Adversarial Example Generation" (FGSM) as written, plus the adversarial training
that usually follows it in GitHub code: the tutorial's LeNet (log_softmax output), ``data.requires_grad =
True``, ``model.zero_grad()``, ``data.grad.data`` and ``fgsm_attack`` (``sign()``, ``torch.clamp(.., 0, 1)``),
``denorm`` undoing a Normalize((0.1307,), (0.3081,)) before the attack and ``transforms.Normalize``-style
renormalising after it, accuracy per epsilon under ``model.eval()``, adversarial examples kept as numpy
(``squeeze().detach().cpu().numpy()``). The MNIST checkpoint is replaced by a LeNet first trained here on
synthetic 28x28 stroke images; then a second model is trained on a mix of clean and FGSM examples (the
attack made in train mode, gradients w.r.t. the input only via torch.autograd.grad) and must be more
robust."""
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
import torch.optim as optim

torch.manual_seed(42)
np.random.seed(42)
device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
print("CUDA Available: ", torch.cuda.is_available())

epsilons = [0, .05, .1, .15, .2]


# ---------------------------------------------------------------- data: strokes on 28x28, pixels in [0, 1]
def make_strokes(n):
    ys = np.random.randint(0, 4, size=n)
    images = np.zeros((n, 1, 28, 28), dtype=np.float32)
    for i, c in enumerate(ys):
        o = np.random.randint(-3, 4)
        if c == 0:
            images[i, 0, 6:22, 13 + o:16 + o] = 1
        elif c == 1:
            images[i, 0, 13 + o:16 + o, 6:22] = 1
        elif c == 2:
            for k in range(6, 22):
                images[i, 0, k, min(27, max(0, k + o)):min(28, max(1, k + o + 3))] = 1
        else:
            images[i, 0, 6:22, 9 + o:11 + o] = 1
            images[i, 0, 6:22, 17 + o:19 + o] = 1
    images = np.clip(images + 0.4 * np.random.rand(n, 1, 28, 28).astype(np.float32), 0, 1)
    return torch.from_numpy(images), torch.from_numpy(ys).long()


MEAN, STD = 0.1307, 0.3081
train_x, train_y = make_strokes(1000)
test_x, test_y = make_strokes(200)
train_loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset((train_x - MEAN) / STD, train_y),
                                           batch_size=64, shuffle=True)
# the tutorial attacks one example at a time; batch_size=1 as written
test_loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset((test_x - MEAN) / STD, test_y),
                                          batch_size=1, shuffle=True)


# LeNet Model definition
class Net(nn.Module):
    def __init__(self):
        super(Net, self).__init__()
        self.conv1 = nn.Conv2d(1, 16, 3, 1)
        self.conv2 = nn.Conv2d(16, 32, 3, 1)
        self.dropout1 = nn.Dropout(0.25)
        self.dropout2 = nn.Dropout(0.5)
        self.fc1 = nn.Linear(1152, 64)
        self.fc2 = nn.Linear(64, 4)

    def forward(self, x):
        x = self.conv1(x)
        x = F.relu(x)
        x = self.conv2(x)
        x = F.relu(x)
        x = F.max_pool2d(x, 4)
        x = self.dropout1(x)
        x = torch.flatten(x, 1)
        x = self.fc1(x)
        x = F.relu(x)
        x = self.dropout2(x)
        x = self.fc2(x)
        output = F.log_softmax(x, dim=1)
        return output


# FGSM attack code
def fgsm_attack(image, epsilon, data_grad):
    # Collect the element-wise sign of the data gradient
    sign_data_grad = data_grad.sign()
    # Create the perturbed image by adjusting each pixel of the input image
    perturbed_image = image + epsilon * sign_data_grad
    # Adding clipping to maintain [0,1] range
    perturbed_image = torch.clamp(perturbed_image, 0, 1)
    # Return the perturbed image
    return perturbed_image


# restores the tensors to their original scale
def denorm(batch, mean=[0.1307], std=[0.3081]):
    if isinstance(mean, list):
        mean = torch.tensor(mean).to(device)
    if isinstance(std, list):
        std = torch.tensor(std).to(device)
    return batch * std.view(1, -1, 1, 1) + mean.view(1, -1, 1, 1)


def normalize(batch):  # transforms.Normalize((0.1307,), (0.3081,))
    return (batch - MEAN) / STD


def test(model, device, test_loader, epsilon):
    correct = 0
    adv_examples = []
    for data, target in test_loader:
        data, target = data.to(device), target.to(device)
        # Set requires_grad attribute of tensor. Important for Attack
        data.requires_grad = True
        output = model(data)
        init_pred = output.max(1, keepdim=True)[1]  # get the index of the max log-probability
        # If the initial prediction is wrong, don't bother attacking, just move on
        if init_pred.item() != target.item():
            continue
        loss = F.nll_loss(output, target)
        model.zero_grad()
        loss.backward()
        data_grad = data.grad.data
        data_denorm = denorm(data)
        perturbed_data = fgsm_attack(data_denorm, epsilon, data_grad)
        perturbed_data_normalized = normalize(perturbed_data)
        output = model(perturbed_data_normalized)
        final_pred = output.max(1, keepdim=True)[1]
        if final_pred.item() == target.item():
            correct += 1
            if epsilon == 0 and len(adv_examples) < 5:
                adv_ex = perturbed_data.squeeze().detach().cpu().numpy()
                adv_examples.append((init_pred.item(), final_pred.item(), adv_ex))
        else:
            if len(adv_examples) < 5:
                adv_ex = perturbed_data.squeeze().detach().cpu().numpy()
                adv_examples.append((init_pred.item(), final_pred.item(), adv_ex))
    final_acc = correct / float(len(test_loader))
    print(f"Epsilon: {epsilon}\tTest Accuracy = {correct} / {len(test_loader)} = {final_acc}")
    return final_acc, adv_examples


def fgsm_batch(model, data, target, epsilon):
    """The batched attack adversarial training uses: the gradient w.r.t. the input alone."""
    data = data.clone().detach().requires_grad_(True)
    loss = F.nll_loss(model(data), target)
    grad, = torch.autograd.grad(loss, data)
    adv = torch.clamp(denorm(data.detach()) + epsilon * grad.sign(), 0, 1)
    return normalize(adv).detach()


def train(model, epochs, adversarial_eps=None):
    optimizer = optim.Adam(model.parameters(), lr=2e-3)
    for epoch in range(1, epochs + 1):
        model.train()
        total, count = 0.0, 0
        for data, target in train_loader:
            data, target = data.to(device), target.to(device)
            if adversarial_eps is not None:
                data = torch.cat([data, fgsm_batch(model, data, target, adversarial_eps)])
                target = torch.cat([target, target])
            optimizer.zero_grad()
            loss = F.nll_loss(model(data), target)
            loss.backward()
            optimizer.step()
            total += loss.item() * target.size(0)
            count += target.size(0)
        print(f"{'adversarial' if adversarial_eps else 'clean'} epoch {epoch} loss {total / count:.4f}")


model = Net().to(device)
train(model, epochs=2)
# Set the model in evaluation mode. In this case this is for the Dropout layers
model.eval()

accuracies = []
examples = []
for eps in epsilons:
    acc, ex = test(model, device, test_loader, eps)
    accuracies.append(acc)
    examples.append(ex)
print(f"adversarial examples kept: {sum(len(e) for e in examples)} of shape {examples[-1][0][2].shape}")

robust = Net().to(device)
train(robust, epochs=2, adversarial_eps=0.15)
robust.eval()
robust_acc, _ = test(robust, device, test_loader, 0.15)
print(f"clean accuracy {accuracies[0]:.4f} at eps=0.15: {accuracies[3]:.4f} -> robust model {robust_acc:.4f}")
print(f"accuracy {accuracies[0]:.4f}")
print(f"robust_gain {robust_acc - accuracies[3]:.4f}")
