"""Reinforcement learning: REINFORCE (Monte-Carlo policy gradient) balances a pole on a cart.

The environment is CartPole-v1 (500 steps at most, +1 per step). Gymnasium's is used
when `gymnasium` is installed; otherwise the built-in `CartPole` class below, which has
gymnasium's exact dynamics, reset distribution and seeding. Several episodes run in
lockstep so the policy sees a batch of observations per step; after each batch the
policy is updated with discounted returns normalised over the batch as advantages.
The trained policy is then evaluated greedily over fresh episodes; CartPole counts as
solved at an average return of 195 (v0) and perfect at 500 (v1's cap).

    python examples/reinforce_cartpole.py                   # full settings (see docs/examples/reinforce_cartpole.md)
    python examples/reinforce_cartpole.py --env builtin     # without gymnasium

Apart from the device choice (framework.cuda.is_interpreter), a PyTorch version of this
script differs only in its imports.
"""
from __future__ import annotations

import argparse
import math
import time

import numpy as np

import framework
import framework.nn as nn
import framework.nn.functional as F


class CartPole:
    """CartPole-v1 with gymnasium's dynamics (Euler integration), termination and reset.

    ``reset(seed=s)`` draws the same initial state as gymnasium's ``CartPole-v1`` with
    the same seed, and ``step`` returns ``(observation, reward, terminated, truncated, info)``.
    """

    gravity, masscart, masspole, length, force_mag, tau = 9.8, 1.0, 0.1, 0.5, 10.0, 0.02
    total_mass = masspole + masscart
    polemass_length = masspole * length
    theta_threshold_radians = 12 * 2 * math.pi / 360
    x_threshold = 2.4

    def __init__(self, max_episode_steps: int = 500):
        self.max_episode_steps = max_episode_steps
        self.rng = np.random.default_rng()
        self.state = None
        self.steps = 0

    def reset(self, *, seed: int | None = None) -> tuple[np.ndarray, dict]:
        """Start an episode from a uniform random state in (-0.05, 0.05)^4."""
        if seed is not None:
            self.rng = np.random.default_rng(seed)
        self.state = self.rng.uniform(low=-0.05, high=0.05, size=(4,))
        self.steps = 0
        return np.array(self.state, dtype=np.float32), {}

    def step(self, action: int) -> tuple[np.ndarray, float, bool, bool, dict]:
        """Push the cart left (0) or right (1) for one time step of 0.02 s."""
        x, x_dot, theta, theta_dot = self.state
        force = self.force_mag if action == 1 else -self.force_mag
        costheta, sintheta = np.cos(theta), np.sin(theta)
        temp = (force + self.polemass_length * np.square(theta_dot) * sintheta) / self.total_mass
        thetaacc = (self.gravity * sintheta - costheta * temp) / (
            self.length * (4.0 / 3.0 - self.masspole * np.square(costheta) / self.total_mass))
        xacc = temp - self.polemass_length * thetaacc * costheta / self.total_mass
        x = x + self.tau * x_dot
        x_dot = x_dot + self.tau * xacc
        theta = theta + self.tau * theta_dot
        theta_dot = theta_dot + self.tau * thetaacc
        self.state = np.array((x, x_dot, theta, theta_dot), dtype=np.float64)
        self.steps += 1
        terminated = bool(x < -self.x_threshold or x > self.x_threshold
                          or theta < -self.theta_threshold_radians or theta > self.theta_threshold_radians)
        truncated = self.steps >= self.max_episode_steps
        return np.array(self.state, dtype=np.float32), 1.0, terminated, truncated, {}


def make_env(kind: str):
    """A CartPole-v1 environment: gymnasium's (``gymnasium``/``auto`` when installed) or the built-in one."""
    if kind in ("auto", "gymnasium"):
        try:
            import gymnasium
        except ImportError:
            if kind == "gymnasium":
                raise
        else:
            return gymnasium.make("CartPole-v1")
    return CartPole()


def default_device() -> str:
    """``cuda`` on a GPU, else ``cpu`` (the Triton interpreter would be far too slow)."""
    return "cuda" if framework.cuda.is_available() and not framework.cuda.is_interpreter() else "cpu"


def run_episodes(policy: nn.Module, envs: list, seeds: list[int], device: str, greedy: bool = False) -> list[dict]:
    """Play one episode in each env in lockstep; per episode its observations, actions and rewards."""
    episodes = [{"observations": [], "actions": [], "rewards": []} for _ in envs]
    observations = [env.reset(seed=seed)[0] for env, seed in zip(envs, seeds)]
    active = list(range(len(envs)))
    with framework.no_grad():
        while active:
            batch = framework.tensor(np.stack([observations[i] for i in active]), device=device)
            logits = policy(batch)
            if greedy:
                actions = logits.argmax(dim=1)
            else:
                actions = framework.multinomial(F.softmax(logits, dim=1), 1).squeeze(1)
            still_active = []
            for i, action in zip(active, actions.tolist()):
                observation, reward, terminated, truncated, _ = envs[i].step(action)
                episodes[i]["observations"].append(observations[i])
                episodes[i]["actions"].append(action)
                episodes[i]["rewards"].append(reward)
                observations[i] = observation
                if not (terminated or truncated):
                    still_active.append(i)
            active = still_active
    return episodes


def discounted_returns(rewards: list[float], gamma: float) -> list[float]:
    """G_t = r_t + gamma * G_{t+1}."""
    returns, running = [], 0.0
    for reward in reversed(rewards):
        running = reward + gamma * running
        returns.append(running)
    return returns[::-1]


def policy_loss(policy: nn.Module, episodes: list[dict], gamma: float, device: str) -> framework.Tensor:
    """REINFORCE: -mean over episodes of sum_t log pi(a_t|s_t) * normalised G_t."""
    observations = framework.tensor(np.stack([o for e in episodes for o in e["observations"]]), device=device)
    actions = framework.tensor([a for e in episodes for a in e["actions"]], device=device)
    returns = framework.tensor([g for e in episodes for g in discounted_returns(e["rewards"], gamma)],
                               device=device)
    advantages = (returns - returns.mean()) / (returns.std() + 1e-8)
    log_probs = F.log_softmax(policy(observations), dim=1).gather(1, actions.unsqueeze(1)).squeeze(1)
    return -(log_probs * advantages).sum() / len(episodes)


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--env", choices=["auto", "gymnasium", "builtin"], default="auto")
    parser.add_argument("--updates", type=int, default=150, help="most policy updates")
    parser.add_argument("--episodes-per-update", type=int, default=8)
    parser.add_argument("--target", type=float, default=475.0,
                        help="stop training once the mean return of the last update reaches this")
    parser.add_argument("--eval-episodes", type=int, default=100)
    parser.add_argument("--hidden", type=int, default=64)
    parser.add_argument("--lr", type=float, default=1e-2)
    parser.add_argument("--gamma", type=float, default=0.99)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--device", default=None, help="cpu or cuda (default: cuda on a GPU)")
    parser.add_argument("--compile", action="store_true",
                        help="framework.compile the model (compiled forward and backward)")
    return parser.parse_args(argv)


def main(argv=None) -> dict:
    """Train until the target return or the update budget, evaluate greedily; return the numbers."""
    args = parse_args(argv)
    device = args.device or default_device()
    framework.manual_seed(args.seed)
    envs = [make_env(args.env) for _ in range(max(args.episodes_per_update, args.eval_episodes))]
    print(f"environment: {type(envs[0].unwrapped if hasattr(envs[0], 'unwrapped') else envs[0]).__module__}")
    policy = nn.Sequential(nn.Linear(4, args.hidden), nn.Tanh(), nn.Linear(args.hidden, 2)).to(device)
    # --compile: the loss's forward and backward (a new trace per episode-batch length, up to
    # framework.compile's cache limit, then eager); the rollouts stay eager
    net = framework.compile(policy) if args.compile else policy
    optimizer = framework.optim.Adam(policy.parameters(), lr=args.lr)
    start, seed = time.perf_counter(), args.seed * 1_000_000
    for update in range(args.updates):
        seeds = list(range(seed, seed + args.episodes_per_update))
        seed += args.episodes_per_update
        episodes = run_episodes(policy, envs[:args.episodes_per_update], seeds, device)
        loss = policy_loss(net, episodes, args.gamma, device)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        mean_return = sum(len(e["rewards"]) for e in episodes) / len(episodes)
        if update % 10 == 0 or mean_return >= args.target:
            print(f"update {update + 1:4d}  mean return {mean_return:6.1f}  {time.perf_counter() - start:.0f}s")
        if mean_return >= args.target:
            break
    eval_seeds = list(range(10**9, 10**9 + args.eval_episodes))
    evaluation = run_episodes(policy, envs[:args.eval_episodes], eval_seeds, device, greedy=True)
    eval_return = sum(len(e["rewards"]) for e in evaluation) / len(evaluation)
    print(f"greedy policy: average return {eval_return:.1f} over {len(evaluation)} episodes"
          f" (solved at 195, at most 500)  {time.perf_counter() - start:.0f}s")
    return {"eval_return": eval_return, "updates": update + 1, "seconds": time.perf_counter() - start}


if __name__ == "__main__":
    main()
