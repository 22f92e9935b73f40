"""PPO with a clipped surrogate objective (Schulman et al. 2017) as the CleanRL-style single-file
implementations on GitHub write it: an actor-critic MLP with orthogonal init, torch.distributions.Categorical
for log_prob/entropy, a rollout buffer of preallocated tensors, GAE(lambda) computed with a reversed loop,
advantage normalisation per minibatch, several epochs over shuffled minibatches (torch.randperm), the
clipped value and policy losses with torch.clamp, an entropy bonus, clip_grad_norm_ and a linearly annealed
learning rate. Gym is replaced by a hand-written vectorised "corridor" environment with gym's conventions
(float64 observations, bool done flags, both turned into tensors with torch.Tensor as CleanRL does): walk to
the right end of a corridor, a step cost, episodes cut after 20 steps."""
import numpy as np
import torch
import torch.nn as nn
import torch.optim as optim
from torch.distributions.categorical import Categorical

SEED = 1
np.random.seed(SEED)
torch.manual_seed(SEED)
torch.backends.cudnn.deterministic = True
device = torch.device("cuda" if torch.cuda.is_available() else "cpu")


class Corridor:
    """n parallel corridors of length L. Actions: 0 = left, 1 = stay, 2 = right. Reaching the right end
    gives +1 and resets the env; every other step costs -0.01. Observation: one-hot position."""

    def __init__(self, n, length=8, max_steps=20):
        self.n, self.L, self.max_steps = n, length, max_steps
        self.rng = np.random.RandomState(SEED)
        self.pos = np.zeros(n, dtype=np.int64)
        self.t = np.zeros(n, dtype=np.int64)

    def obs(self):
        o = np.zeros((self.n, self.L))  # float64, as gym's Box spaces give
        o[np.arange(self.n), self.pos] = 1.0
        return o

    def reset(self):
        self.pos = self.rng.randint(0, self.L // 2, size=self.n)
        self.t[:] = 0
        return self.obs()

    def step(self, actions):
        self.pos = np.clip(self.pos + actions - 1, 0, self.L - 1)
        self.t += 1
        success = self.pos == self.L - 1
        reward = np.where(success, 1.0, -0.01)
        done = success | (self.t >= self.max_steps)
        for i in np.nonzero(done)[0]:
            self.pos[i] = self.rng.randint(0, self.L // 2)
            self.t[i] = 0
        return self.obs(), reward, done, success  # done: a bool array


def layer_init(layer, std=np.sqrt(2), bias_const=0.0):
    torch.nn.init.orthogonal_(layer.weight, std)
    torch.nn.init.constant_(layer.bias, bias_const)
    return layer


class Agent(nn.Module):
    def __init__(self, obs_dim, n_actions):
        super().__init__()
        self.critic = nn.Sequential(
            layer_init(nn.Linear(obs_dim, 64)), nn.Tanh(),
            layer_init(nn.Linear(64, 64)), nn.Tanh(),
            layer_init(nn.Linear(64, 1), std=1.0),
        )
        self.actor = nn.Sequential(
            layer_init(nn.Linear(obs_dim, 64)), nn.Tanh(),
            layer_init(nn.Linear(64, 64)), nn.Tanh(),
            layer_init(nn.Linear(64, n_actions), std=0.01),
        )

    def get_value(self, x):
        return self.critic(x)

    def get_action_and_value(self, x, action=None):
        logits = self.actor(x)
        probs = Categorical(logits=logits)
        if action is None:
            action = probs.sample()
        return action, probs.log_prob(action), probs.entropy(), self.critic(x)


num_envs, num_steps = 8, 32
total_timesteps = 8 * 32 * 30
batch_size = num_envs * num_steps
minibatch_size = batch_size // 4
update_epochs = 4
gamma, gae_lambda, clip_coef, ent_coef, vf_coef, max_grad_norm = 0.99, 0.95, 0.2, 0.01, 0.5, 0.5
learning_rate = 2.5e-3

envs = Corridor(num_envs)
obs_dim, n_actions = envs.L, 3
agent = Agent(obs_dim, n_actions).to(device)
optimizer = optim.Adam(agent.parameters(), lr=learning_rate, eps=1e-5)

obs = torch.zeros((num_steps, num_envs, obs_dim)).to(device)
actions = torch.zeros((num_steps, num_envs)).to(device)
logprobs = torch.zeros((num_steps, num_envs)).to(device)
rewards = torch.zeros((num_steps, num_envs)).to(device)
dones = torch.zeros((num_steps, num_envs)).to(device)
values = torch.zeros((num_steps, num_envs)).to(device)

next_obs = torch.Tensor(envs.reset()).to(device)
next_done = torch.zeros(num_envs).to(device)
num_updates = total_timesteps // batch_size
for update in range(1, num_updates + 1):
    frac = 1.0 - (update - 1.0) / num_updates
    optimizer.param_groups[0]["lr"] = frac * learning_rate
    successes = 0
    for step in range(num_steps):
        obs[step] = next_obs
        dones[step] = next_done
        with torch.no_grad():
            action, logprob, _, value = agent.get_action_and_value(next_obs)
            values[step] = value.flatten()
        actions[step] = action
        logprobs[step] = logprob
        o, r, d, s = envs.step(action.cpu().numpy())
        successes += int(s.sum())
        rewards[step] = torch.tensor(r).to(device).view(-1)
        next_obs, next_done = torch.Tensor(o).to(device), torch.Tensor(d).to(device)

    with torch.no_grad():
        next_value = agent.get_value(next_obs).reshape(1, -1)
        advantages = torch.zeros_like(rewards).to(device)
        lastgaelam = 0
        for t in reversed(range(num_steps)):
            if t == num_steps - 1:
                nextnonterminal = 1.0 - next_done
                nextvalues = next_value
            else:
                nextnonterminal = 1.0 - dones[t + 1]
                nextvalues = values[t + 1]
            delta = rewards[t] + gamma * nextvalues * nextnonterminal - values[t]
            advantages[t] = lastgaelam = delta + gamma * gae_lambda * nextnonterminal * lastgaelam
        returns = advantages + values

    b_obs = obs.reshape((-1, obs_dim))
    b_logprobs = logprobs.reshape(-1)
    b_actions = actions.reshape(-1)
    b_advantages = advantages.reshape(-1)
    b_returns = returns.reshape(-1)
    b_values = values.reshape(-1)

    agent.train()
    clipfracs = []
    for epoch in range(update_epochs):
        b_inds = torch.randperm(batch_size, device=device)
        for start in range(0, batch_size, minibatch_size):
            mb_inds = b_inds[start:start + minibatch_size]
            _, newlogprob, entropy, newvalue = agent.get_action_and_value(b_obs[mb_inds], b_actions.long()[mb_inds])
            logratio = newlogprob - b_logprobs[mb_inds]
            ratio = logratio.exp()
            with torch.no_grad():
                approx_kl = ((ratio - 1) - logratio).mean()
                clipfracs += [((ratio - 1.0).abs() > clip_coef).float().mean().item()]

            mb_advantages = b_advantages[mb_inds]
            mb_advantages = (mb_advantages - mb_advantages.mean()) / (mb_advantages.std() + 1e-8)
            pg_loss1 = -mb_advantages * ratio
            pg_loss2 = -mb_advantages * torch.clamp(ratio, 1 - clip_coef, 1 + clip_coef)
            pg_loss = torch.max(pg_loss1, pg_loss2).mean()

            newvalue = newvalue.view(-1)
            v_loss_unclipped = (newvalue - b_returns[mb_inds]) ** 2
            v_clipped = b_values[mb_inds] + torch.clamp(newvalue - b_values[mb_inds], -clip_coef, clip_coef)
            v_loss_clipped = (v_clipped - b_returns[mb_inds]) ** 2
            v_loss = 0.5 * torch.max(v_loss_unclipped, v_loss_clipped).mean()

            entropy_loss = entropy.mean()
            loss = pg_loss - ent_coef * entropy_loss + v_loss * vf_coef

            optimizer.zero_grad()
            loss.backward()
            nn.utils.clip_grad_norm_(agent.parameters(), max_grad_norm)
            optimizer.step()

    y_pred, y_true = b_values.cpu().numpy(), b_returns.cpu().numpy()
    var_y = np.var(y_true)
    explained_var = np.nan if var_y == 0 else 1 - np.var(y_true - y_pred) / var_y
    if update == 1 or update % 5 == 0 or update == num_updates:
        print(f"update {update:2d} successes {successes:3d} steps_per_success {batch_size / max(successes, 1):6.2f} "
              f"v_loss {v_loss.item():.4f} kl {approx_kl.item():.4f} clipfrac {np.mean(clipfracs):.3f} "
              f"explained_var {explained_var:.3f}")

# greedy evaluation
agent.eval()
env = Corridor(64)
o = torch.Tensor(env.reset()).to(device)
start = env.pos.copy()
steps_needed = np.zeros(64)
finished = np.zeros(64, dtype=bool)
with torch.no_grad():
    for t in range(20):
        a = agent.actor(o).argmax(dim=1)
        o_np, _, _, s = env.step(a.cpu().numpy())
        newly = s & ~finished
        steps_needed[newly] = t + 1
        finished |= s
        o = torch.Tensor(o_np).to(device)
optimal = (env.L - 1) - start
ok = finished & (steps_needed <= optimal + 1)
print(f"greedy accuracy {ok.mean():.3f}")
