import sys, framework
import framework.nn.functional as F
from framework.bench.compiled import MODELS
from framework.bench.core import Context
from framework.compiler.launches import count_launches
dev = sys.argv[2] if len(sys.argv) > 2 else "cpu"
ctx = Context(dev, None)
framework.manual_seed(0)
model, inputs = MODELS[sys.argv[1]][1](ctx)
model = model.to(dev).train()
compiled = framework.compile(model)
opt = framework.optim.Adam(model.parameters(), lr=1e-3)
def step(run):
    opt.zero_grad()
    out = run(*inputs)
    loss = F.mse_loss(out, framework.zeros(out.shape, device=dev))
    loss.backward()
    opt.step()
for run, name in ((model, "eager"), (compiled, "compiled")):
    step(run); step(run)
    with count_launches() as c:
        step(run)
    print(name, c.total, sorted(c.by_op.items(), key=lambda kv: -kv[1]))
import traceback, collections
from framework.compiler import launches
orig = launches.record
where = collections.Counter()
def rec(op):
    if op in ("copy_", "full", "sum", "from_numpy", "dropout", "add"):
        st = traceback.extract_stack(limit=12)[:-2]
        frames = [f"{f.filename.split('framework/')[-1]}:{f.lineno}:{f.name}" for f in st if "launches.py" not in f.filename][-4:]
        where[(op, " < ".join(reversed(frames)))] += 1
    orig(op)
launches.record = rec
with count_launches() as c:
    step(compiled)
for (op, w), n in sorted(where.items()):
    print(n, op, w)
