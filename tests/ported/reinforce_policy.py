"""pytorch/examples reinforcement_learning/reinforce.py as written (a softmax policy, Categorical from
torch.distributions, log_prob saved per step, discounted returns normalised with
np.finfo(np.float32).eps.item(), torch.cat of the per-step losses), with gymnasium's CartPole replaced by
a small embedded environment of the same interface (reset(seed=...), step() returning five values)."""
import argparse
from collections import deque
from itertools import count

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
import torch.optim as optim
from torch.distributions import Categorical

parser = argparse.ArgumentParser(description='PyTorch REINFORCE example')
parser.add_argument('--gamma', type=float, default=0.9, metavar='G',
                    help='discount factor (default: 0.9)')
parser.add_argument('--seed', type=int, default=543, metavar='N',
                    help='random seed (default: 543)')
parser.add_argument('--log-interval', type=int, default=10, metavar='N',
                    help='interval between training status logs (default: 10)')
parser.add_argument('--episodes', type=int, default=120, metavar='N', help='episodes to train')
args = parser.parse_args()


class PointAtTheSign:
    """Stands in for gym.make('CartPole-v1'): a 4-d observation; action 1 is right when the sum of the
    first two coordinates is positive. Reward 1 per right action; an episode is 10 steps."""

    reward_threshold = 9.5

    def reset(self, seed=None):
        if seed is not None:
            self.rng = np.random.RandomState(seed)
        self.t = 0
        self.state = self.rng.randn(4)
        return self.state, {}

    def step(self, action):
        right = int(self.state[0] + self.state[1] > 0) == action
        self.t += 1
        self.state = self.rng.randn(4)
        return self.state, float(right), False, self.t >= 10, {}


env = PointAtTheSign()
env.reset(seed=args.seed)
torch.manual_seed(args.seed)


class Policy(nn.Module):
    def __init__(self):
        super(Policy, self).__init__()
        self.affine1 = nn.Linear(4, 128)
        self.dropout = nn.Dropout(p=0.6)
        self.affine2 = nn.Linear(128, 2)

        self.saved_log_probs = []
        self.rewards = []

    def forward(self, x):
        x = self.affine1(x)
        x = self.dropout(x)
        x = F.relu(x)
        action_scores = self.affine2(x)
        return F.softmax(action_scores, dim=1)


policy = Policy()
optimizer = optim.Adam(policy.parameters(), lr=1e-2)
eps = np.finfo(np.float32).eps.item()


def select_action(state):
    state = torch.from_numpy(state).float().unsqueeze(0)
    probs = policy(state)
    m = Categorical(probs)
    action = m.sample()
    policy.saved_log_probs.append(m.log_prob(action))
    return action.item()


def finish_episode():
    R = 0
    policy_loss = []
    returns = deque()
    for r in policy.rewards[::-1]:
        R = r + args.gamma * R
        returns.appendleft(R)
    returns = torch.tensor(returns)
    returns = (returns - returns.mean()) / (returns.std() + eps)
    for log_prob, R in zip(policy.saved_log_probs, returns):
        policy_loss.append(-log_prob * R)
    optimizer.zero_grad()
    policy_loss = torch.cat(policy_loss).sum()
    policy_loss.backward()
    optimizer.step()
    del policy.rewards[:]
    del policy.saved_log_probs[:]


def main():
    running_reward = 1
    print(f"missed {10 - running_reward:.2f}")  # of the 10 rewards an episode can earn
    for i_episode in count(1):
        state, _ = env.reset()
        ep_reward = 0
        for t in range(1, 10000):  # Don't infinite loop while learning
            action = select_action(state)
            state, reward, terminated, truncated, _ = env.step(action)
            policy.rewards.append(reward)
            ep_reward += reward
            if terminated or truncated:
                break

        running_reward = 0.05 * ep_reward + (1 - 0.05) * running_reward
        finish_episode()
        if i_episode % args.log_interval == 0:
            print(f'Episode {i_episode}\tLast reward: {ep_reward:.2f}\tAverage reward: {running_reward:.2f}')
            print(f"missed {10 - running_reward:.2f}")  # of the 10 rewards an episode can earn
        if running_reward > env.reward_threshold or i_episode >= args.episodes:
            print(f"Solved! Running reward is now {running_reward} and the last episode runs to {t} time steps!")
            break
    policy.eval()
    correct = 0
    with torch.no_grad():
        for _ in range(200):
            state, _ = env.reset()
            action = policy(torch.from_numpy(state).float().unsqueeze(0)).argmax(1).item()
            correct += int(state[0] + state[1] > 0) == action
    print(f"accuracy {correct / 200:.4f}")


if __name__ == '__main__':
    main()
