"""DQN (Mnih et al. 2015) as the PyTorch "Reinforcement Learning (DQN) Tutorial" and the GitHub repositories
that follow it write it: a namedtuple Transition, a ReplayMemory over collections.deque with random.sample,
epsilon-greedy with an exponentially decaying epsilon and policy_net(state).max(1)[1], Q(s, a) by
gather(1, actions.unsqueeze(1)), a target network synced with load_state_dict, the Huber loss
(F.smooth_l1_loss), clip_grad_value_, RMSprop. Gymnasium's environments are replaced by a hand-written
6x6 gridworld (a maze of walls, a goal, a small step cost) with the same reset()/step() interface."""
import math
import random
from collections import deque, namedtuple

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
import torch.optim as optim

SEED = 0
random.seed(SEED)
np.random.seed(SEED)
torch.manual_seed(SEED)
device = torch.device("cuda" if torch.cuda.is_available() else "cpu")


class GridWorld:
    """A 6x6 maze: start in a random free cell, reach the goal at (5, 0). Actions: up, down, left, right.
    Walls block moves; each step costs -0.04, reaching the goal gives +1 and ends the episode; an episode
    is cut after 30 steps. The observation is a one-hot of the agent's cell plus its (row, col) / 4."""

    size = 6
    walls = {(1, 0), (1, 1), (1, 2), (1, 3), (1, 4), (3, 1), (3, 2), (3, 3), (3, 4), (3, 5), (4, 1)}
    goal = (5, 0)
    moves = [(-1, 0), (1, 0), (0, -1), (0, 1)]
    n_actions = 4
    obs_dim = size * size + 2
    max_steps = 30

    def __init__(self):
        self.rng = np.random.RandomState(SEED)
        self.free = [(r, c) for r in range(self.size) for c in range(self.size)
                     if (r, c) not in self.walls and (r, c) != self.goal]

    def _obs(self):
        o = np.zeros(self.obs_dim, dtype=np.float32)
        o[self.pos[0] * self.size + self.pos[1]] = 1.0
        o[-2:] = np.array(self.pos, dtype=np.float32) / (self.size - 1)
        return o

    def reset(self):
        self.pos = self.free[self.rng.randint(len(self.free))]
        self.t = 0
        return self._obs()

    def step(self, action):
        dr, dc = self.moves[action]
        r, c = self.pos[0] + dr, self.pos[1] + dc
        if 0 <= r < self.size and 0 <= c < self.size and (r, c) not in self.walls:
            self.pos = (r, c)
        self.t += 1
        done = self.pos == self.goal
        reward = 1.0 if done else -0.04
        truncated = self.t >= self.max_steps
        return self._obs(), reward, done, truncated

    def shortest(self, start):
        """Breadth-first distance to the goal, to score the greedy policy."""
        seen, frontier, d = {start}, [start], 0
        while frontier:
            if self.goal in frontier:
                return d
            nxt = []
            for r, c in frontier:
                for dr, dc in self.moves:
                    p = (r + dr, c + dc)
                    if 0 <= p[0] < self.size and 0 <= p[1] < self.size and p not in self.walls and p not in seen:
                        seen.add(p)
                        nxt.append(p)
            frontier, d = nxt, d + 1
        return None


Transition = namedtuple('Transition', ('state', 'action', 'next_state', 'reward', 'done'))


class ReplayMemory(object):
    def __init__(self, capacity):
        self.memory = deque([], maxlen=capacity)

    def push(self, *args):
        """Save a transition"""
        self.memory.append(Transition(*args))

    def sample(self, batch_size):
        return random.sample(self.memory, batch_size)

    def __len__(self):
        return len(self.memory)


class DQN(nn.Module):
    def __init__(self, n_observations, n_actions):
        super(DQN, self).__init__()
        self.layer1 = nn.Linear(n_observations, 64)
        self.layer2 = nn.Linear(64, 64)
        self.layer3 = nn.Linear(64, n_actions)

    def forward(self, x):
        x = F.relu(self.layer1(x))
        x = F.relu(self.layer2(x))
        return self.layer3(x)


BATCH_SIZE = 64
GAMMA = 0.95
EPS_START = 1.0
EPS_END = 0.05
EPS_DECAY = 1500
TARGET_UPDATE = 100  # steps between hard target syncs
LR = 1e-3
NUM_EPISODES = 220

env = GridWorld()
policy_net = DQN(env.obs_dim, env.n_actions).to(device)
target_net = DQN(env.obs_dim, env.n_actions).to(device)
target_net.load_state_dict(policy_net.state_dict())
target_net.eval()
optimizer = optim.RMSprop(policy_net.parameters(), lr=LR)
memory = ReplayMemory(5000)
steps_done = 0


def select_action(state):
    global steps_done
    sample = random.random()
    eps_threshold = EPS_END + (EPS_START - EPS_END) * math.exp(-1. * steps_done / EPS_DECAY)
    steps_done += 1
    if sample > eps_threshold:
        with torch.no_grad():
            # t.max(1) returns the largest column value of each row; [1] is its index: the greedy action
            return policy_net(state).max(1)[1].view(1, 1)
    else:
        return torch.tensor([[random.randrange(env.n_actions)]], device=device, dtype=torch.long)


def optimize_model():
    if len(memory) < BATCH_SIZE:
        return None
    transitions = memory.sample(BATCH_SIZE)
    batch = Transition(*zip(*transitions))

    state_batch = torch.tensor(np.array(batch.state), dtype=torch.float32, device=device)
    next_state_batch = torch.tensor(np.array(batch.next_state), dtype=torch.float32, device=device)
    action_batch = torch.tensor(batch.action, dtype=torch.long, device=device)
    reward_batch = torch.tensor(batch.reward, dtype=torch.float32, device=device)
    done_batch = torch.tensor(batch.done, dtype=torch.float32, device=device)

    # Q(s_t, a): the model computes Q(s_t), then we select the columns of the actions taken
    state_action_values = policy_net(state_batch).gather(1, action_batch.unsqueeze(1))

    # V(s_{t+1}) = max_a Q_target(s_{t+1}, a), zero for terminal states
    with torch.no_grad():
        next_state_values = target_net(next_state_batch).max(1)[0]
    expected_state_action_values = reward_batch + GAMMA * next_state_values * (1 - done_batch)

    loss = F.smooth_l1_loss(state_action_values, expected_state_action_values.unsqueeze(1))

    optimizer.zero_grad()
    loss.backward()
    # in-place gradient clipping
    torch.nn.utils.clip_grad_value_(policy_net.parameters(), 100)
    optimizer.step()
    return loss.item()


def evaluate(net):
    """Greedy roll-outs from every free cell: the fraction reaching the goal, and the mean excess steps."""
    net.eval()
    successes, excess = 0, []
    probe = GridWorld()
    with torch.no_grad():
        for start in probe.free:
            probe.pos, probe.t = start, 0
            obs = probe._obs()
            for _ in range(probe.max_steps):
                q = net(torch.from_numpy(obs).unsqueeze(0).to(device))
                obs, _, done, _ = probe.step(torch.argmax(q, dim=1).item())
                if done:
                    successes += 1
                    excess.append(probe.t - probe.shortest(start))
                    break
    net.train()
    return successes / len(probe.free), (sum(excess) / len(excess) if excess else float('nan'))


losses, episode_returns = deque(maxlen=20), deque(maxlen=20)
for i_episode in range(1, NUM_EPISODES + 1):
    state = env.reset()
    ep_return = 0.0
    while True:
        action = select_action(torch.tensor(state, dtype=torch.float32, device=device).unsqueeze(0))
        next_state, reward, done, truncated = env.step(action.item())
        ep_return += reward
        # rewards and done flags stored as 1-element tensors, as the tutorial's push does; torch.tensor() of a
        # tuple of them reads each as a number (a 1-d batch)
        memory.push(state, action.item(), next_state, torch.tensor([reward], device=device),
                    torch.tensor([done], device=device))
        state = next_state

        loss = optimize_model()
        if loss is not None:
            losses.append(loss)
        if steps_done % TARGET_UPDATE == 0:
            target_net.load_state_dict(policy_net.state_dict())
        if done or truncated:
            break
    episode_returns.append(ep_return)
    if i_episode % 10 == 0:
        success, extra = evaluate(policy_net)
        mean_loss = sum(losses) / max(len(losses), 1)
        print(f"episode {i_episode} steps {steps_done} loss {mean_loss:.4f} "
              f"return {np.mean(episode_returns):.3f} greedy_success {success:.3f} "
              f"failure {1 - success:.3f} extra_steps {extra:.2f}")

success, extra = evaluate(policy_net)
print(f"final success rate {success:.3f} (mean extra steps {extra:.2f})")
print(f"success {success:.4f}")
