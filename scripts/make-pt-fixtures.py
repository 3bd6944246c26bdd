#!/usr/bin/python3
"""Writes the PyTorch-made fixtures of test/fixtures/pt/ (committed; rerun to regenerate).

Needs Debian's interpreter with python3-torch (scripts/setup-system.sh installs it):
  /usr/bin/python3 scripts/make-pt-fixtures.py test/fixtures/pt

What it writes, all with torch.save (so the bytes are PyTorch's own serialisation):
  tensors/      feature tensors: zip format, legacy (pre-1.6) format, a non-contiguous view,
                float16; tensors.json holds their values.
  evil/         pickles that try to run code (os.system) — a reader must refuse them.
  clam_pt/      a CLAM-layout dataset with pt_files/<slide_id>.pt features, CLAM split files,
                per-fold CLAM-SB checkpoints whose attention_net is wrapped in nn.DataParallel
                (keys attention_net.module.*) and that carry the instance_loss_fn.labels buffer,
                as CLAM's main.py leaves them (fold 0 zip format, fold 1 legacy format), and
                expected.json with PyTorch's slide probabilities per fold.

The model below restates CLAM-SB's module structure (state_dict key names) and its eval
forward pass; it is written from the paper's description, not copied.
"""
import json, os, sys
import torch, torch.nn as nn, torch.nn.functional as F

out = sys.argv[1] if len(sys.argv) > 1 else 'test/fixtures/pt'
torch.manual_seed(13)
E = 64


def mk(d):
    os.makedirs(os.path.join(out, d), exist_ok=True)
    return os.path.join(out, d)


# --- feature tensors -------------------------------------------------------------------------
td = mk('tensors')
x = torch.randn(37, 16)
torch.save(x, os.path.join(td, 'features_zip.pt'))
torch.save(x, os.path.join(td, 'features_legacy.pt'), _use_new_zipfile_serialization=False)
xt = x.t()  # [16, 37], stride (1, 16): shares x's storage
assert not xt.is_contiguous()
torch.save(xt, os.path.join(td, 'features_transposed.pt'))
torch.save(x.half(), os.path.join(td, 'features_half.pt'))
torch.save(torch.arange(12, dtype=torch.int64).reshape(3, 4), os.path.join(td, 'int64.pt'))
json.dump({'features': x.tolist(), 'half': x.half().float().tolist()}, open(os.path.join(td, 'tensors.json'), 'w'))


# --- pickles that try to run code -----------------------------------------------------------
ed = mk('evil')
marker = '/tmp/milflow-pt-fixture-was-executed'


class RunsShell:
    def __reduce__(self):
        return (os.system, (f'touch {marker}',))


torch.save(RunsShell(), os.path.join(ed, 'system.pt'))
# A state dict with one poisoned value: the tensors alone must not make it acceptable.
torch.save({'attention_net.0.weight': torch.zeros(2, 2), 'x': RunsShell()}, os.path.join(ed, 'state_dict_system.pt'))
torch.save(RunsShell(), os.path.join(ed, 'system_legacy.pt'), _use_new_zipfile_serialization=False)


# --- CLAM-SB with DataParallel keys ----------------------------------------------------------
class GatedAttention(nn.Module):
    def __init__(self, L=512, D=256, n=1):
        super().__init__()
        self.attention_a = nn.Sequential(nn.Linear(L, D), nn.Tanh(), nn.Dropout(0.25))
        self.attention_b = nn.Sequential(nn.Linear(L, D), nn.Sigmoid(), nn.Dropout(0.25))
        self.attention_c = nn.Linear(D, n)

    def forward(self, h):
        return self.attention_c(self.attention_a(h) * self.attention_b(h)), h


class InstanceLoss(nn.Module):
    """Stands for smooth-topk's SmoothTop1SVM, which registers a `labels` buffer."""
    def __init__(self, C):
        super().__init__()
        self.register_buffer('labels', torch.arange(C))


class ClamSB(nn.Module):
    def __init__(self, E, C=2):
        super().__init__()
        self.attention_net = nn.Sequential(nn.Linear(E, 512), nn.ReLU(), nn.Dropout(0.25), GatedAttention())
        self.classifiers = nn.Linear(512, C)
        self.instance_classifiers = nn.ModuleList([nn.Linear(512, 2) for _ in range(C)])
        self.instance_loss_fn = InstanceLoss(C)

    def forward(self, x):
        net = self.attention_net.module if isinstance(self.attention_net, nn.DataParallel) else self.attention_net
        A, h = net(x)
        A = F.softmax(A.T, dim=1)
        logits = self.classifiers(A @ h)
        return F.softmax(logits, dim=1)[0]


cd = mk('clam_pt')
fd = mk('clam_pt/features/pt_files')
sizes = [5, 23, 37, 120, 260, 2000, 90, 14, 301, 64]
slides = []
for i, n in enumerate(sizes):
    sid = f'slide_{i:02d}'
    label = 'tumor' if i % 2 else 'normal'
    shift = 0.6 if label == 'tumor' else 0.0
    f = torch.randn(n, E) + shift * (torch.rand(n, 1) < 0.2).float()
    torch.save(f, os.path.join(fd, f'{sid}.pt'))
    slides.append((f'case_{i // 2 if i < 4 else i:02d}', sid, label, f))
with open(os.path.join(cd, 'dataset.csv'), 'w') as fh:
    fh.write('case_id,slide_id,label\n')
    for c, s, l, _ in slides:
        fh.write(f'{c},{s},{l}\n')

sd_dir = mk('clam_pt/splits')
ck_dir = mk('clam_pt/checkpoints')
folds = [
    {'train': [0, 1, 2, 3, 4, 5], 'val': [6, 7], 'test': [8, 9]},
    {'train': [2, 3, 4, 5, 8, 9], 'val': [0, 1], 'test': [6, 7]},
]
expected = {'folds': []}
for k, split in enumerate(folds):
    n = max(len(v) for v in split.values())
    with open(os.path.join(sd_dir, f'splits_{k}.csv'), 'w') as fh:
        fh.write(',train,val,test\n')
        for r in range(n):
            cells = [slides[split[s][r]][1] if r < len(split[s]) else '' for s in ('train', 'val', 'test')]
            fh.write(f'{r},' + ','.join(cells) + '\n')
    m = ClamSB(E)
    # Larger weights than PyTorch's default init, so probabilities are far from 0.5.
    with torch.no_grad():
        for p in m.parameters():
            p.mul_(3.0)
    m.attention_net = nn.DataParallel(m.attention_net)  # keys become attention_net.module.*
    m.eval()
    sd = m.state_dict()
    assert 'attention_net.module.0.weight' in sd and 'instance_loss_fn.labels' in sd
    path = os.path.join(ck_dir, f's_{k}_checkpoint.pt')
    torch.save(sd, path, _use_new_zipfile_serialization=(k == 0))
    # Probabilities of the model as PyTorch loads it back (CLAM's own loading: strip .module).
    back = torch.load(path)
    clean = ClamSB(E)
    clean.load_state_dict({kk.replace('.module', ''): v for kk, v in back.items()}, strict=True)
    clean.eval()
    with torch.no_grad():
        probs = {s: clean(f).tolist() for _, s, _, f in slides}
    expected['folds'].append({'fold': k, 'format': 'zip' if k == 0 else 'legacy', 'probs': probs})
json.dump(expected, open(os.path.join(cd, 'expected.json'), 'w'), indent=1)
print('wrote', out, 'torch', torch.__version__)
