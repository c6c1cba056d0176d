"""Plain tests of the learner's pieces that need no data set and no notebook."""
import torch
from torch.utils.data import RandomSampler, SequentialSampler

from transfer_cookbook.core.learner import ShardedBatches


def shares(n, batch, world, sampler=None):
    sampler = sampler or SequentialSampler(range(n))
    return [list(ShardedBatches(sampler, batch, r, world)) for r in range(world)]


def test_processes_together_take_the_batches_one_process_would():
    a, b = shares(64, 16, 2)
    for step in range(2):  # global batch k of 32 items: rank 0 takes its first 16, rank 1 the other 16
        assert a[16 * step:16 * (step + 1)] + b[16 * step:16 * (step + 1)] == list(range(32 * step, 32 * (step + 1)))


def test_a_short_last_batch_is_split_and_no_process_is_left_empty():
    a, b = shares(35, 16, 2)  # one global batch of 32, then 3 items
    assert a[-1:] + b[-2:] == [32, 33, 34] and len(a) == 17 and len(b) == 18
    for share in shares(33, 16, 2): assert len(share) == 17  # 1 item left for 2 processes: both step (one repeats it)
    assert len(ShardedBatches(SequentialSampler(range(35)), 16, 1, 2)) == 18


def test_every_process_shuffles_alike_when_seeded_alike():
    orders = []
    for _ in range(2):
        torch.manual_seed(0); orders.append(list(RandomSampler(range(50))))
    torch.manual_seed(0)
    a = list(ShardedBatches(RandomSampler(range(50)), 5, 0, 2))
    assert a[:5] == orders[0][:5] and orders[0] == orders[1]


def test_a_run_with_discriminative_rates_resumes_from_its_checkpoint(tmp_path):
    "spread_lr's rates are plain floats, so the optimiser state in last.state.pt loads with weights_only=True."
    from collections import OrderedDict
    from torch import nn
    from torch.utils.data import DataLoader, TensorDataset
    from transfer_cookbook.core.learner import Learner, spread_lr
    assert all(type(r) is float for r in spread_lr((1e-4, 1e-2), 3))
    def learner():
        torch.manual_seed(0)
        model = nn.Sequential(OrderedDict(body=nn.Sequential(nn.Linear(4, 8), nn.ReLU()), head=nn.Linear(8, 2)))
        dl = DataLoader(TensorDataset(torch.randn(32, 4), torch.randint(0, 2, (32,))), batch_size=8)
        return Learner(model, dl, n_groups=2, progress=False, device='cpu')
    full = learner().fit(3, (1e-4, 1e-2))
    first = learner(); first.fit(3, (1e-4, 1e-2), checkpoint_dir=tmp_path)
    resumed = learner().fit(3, (1e-4, 1e-2), checkpoint_dir=tmp_path, resume=True)  # nothing left to do: loads and returns
    assert len(resumed) == 3 and abs(resumed.train_loss.iloc[-1] - full.train_loss.iloc[-1]) < 1e-6
