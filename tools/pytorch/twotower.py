#!/usr/bin/env python3
"""Reference PyTorch two-tower model for `edgerec import`.

Trains a two-tower retrieval model of the architecture family core/tower
runs on an edgerec data set (what `edgerec synth` writes), then exports:

  OUT/model.pt           the checkpoint (torch.save of the state_dict)
  OUT/model.safetensors  the weights (written by the small writer below)
  OUT/model.npz          the same weights as NumPy arrays
  OUT/spec.json          the tower spec `edgerec import --spec` reads
  OUT/reference.json     query embeddings, top-10 lists and item embeddings
                         computed here, for the round-trip test

Every feature transform mirrors core/feature and core/tower exactly
(history pooling with decays, the seed item, field tables, quantile
normalization with [q, q², √q], FNV-1a hashed title tokens, DCN-v2 cross
layers, dense layers, L2 normalization), so that the Go towers compute the
same numbers from the exported weights.

Usage: python3 twotower.py --data DIR --out DIR [--epochs N] [--seed S]
(Debian: apt-get install python3-torch python3-numpy; run /usr/bin/python3.)
"""

import argparse
import csv
import json
import math
import os
import random
import re
import struct

import numpy as np
import torch
from torch import nn

ID_DIM, CAT_DIM, TOKEN_BUCKETS, TOKEN_DIM, FIELD_DIM = 32, 16, 512, 16, 8
HIDDEN, DIM, TEMPERATURE = 64, 32, 0.05
DECAYS = [1.0, 0.8]
MAX_HISTORY = 50
FIELDS = ["region", "device", "gender", "age_bucket"]
QUERY_NUMERICS = ["age", "history_len"]
ITEM_NUMERICS = ["price", "age_days"]
QUANTILES = 16
ADULT_AGE = 18  # core/pipeline.AdultAge


# --- features, as core/feature computes them -------------------------------

def age_bucket(age):
    """feature.AgeBucket as the string the query tower's vocabulary holds."""
    if age <= 0:
        return ""
    for b, hi in enumerate([18, 25, 35, 45, 55, 65], start=1):
        if age < hi:
            return str(b)
    return "7"


def fnv1a32(s):
    h = 0x811C9DC5
    for byte in s.encode("utf-8"):
        h ^= byte
        h = (h * 0x01000193) & 0xFFFFFFFF
    return h


def hash_tokens(title, buckets):
    """feature.HashTokens: distinct bucket rows of the lower-cased words."""
    out = []
    for tok in re.findall(r"[^\W_]+", title.lower()):
        r = fnv1a32(tok) % buckets + 1
        if r not in out:
            out.append(r)
    return out


def fit_quantiles(values, n=QUANTILES):
    """feature.FitQuantiles: the n+1 quantiles, repeated bounds merged."""
    v = sorted(float(x) for x in values if math.isfinite(x))
    if not v:
        return []
    bounds = []
    for i in range(n + 1):
        b = float(np.float32(v[min(len(v) - 1, i * (len(v) - 1) // n)]))
        if not bounds or b > bounds[-1]:
            bounds.append(b)
    return bounds


def normalize(x, bounds):
    """feature.Quantiles.Normalize, in float32."""
    f = np.float32
    x = f(x)
    if len(bounds) < 2 or not x > f(bounds[0]):
        return f(0)
    if x >= f(bounds[-1]):
        return f(1)
    i = max(j for j in range(len(bounds)) if f(bounds[j]) <= x)
    frac = (x - f(bounds[i])) / (f(bounds[i + 1]) - f(bounds[i]))
    return (f(i) + frac) / f(len(bounds) - 1)


def powers(q):
    return [q, q * q, np.float32(math.sqrt(q))]


def pool_weights(n, d):
    """tower.PoolWeights: the i-th newest of n weighs d^i, normalized."""
    w = [np.float32(0)] * n
    acc, s = np.float32(1), np.float32(0)
    for i in range(n - 1, -1, -1):
        w[i] = acc
        s += acc
        acc = np.float32(acc * np.float32(d))
    return [x / s for x in w]


# --- data -------------------------------------------------------------------

def load(data):
    with open(os.path.join(data, "items.csv"), newline="") as f:
        items = list(csv.DictReader(f))
    with open(os.path.join(data, "users.csv"), newline="") as f:
        users = {u["user_id"]: u for u in csv.DictReader(f)}
    with open(os.path.join(data, "interactions.csv"), newline="") as f:
        events = [(r["user_id"], r["item_id"], int(r["timestamp"])) for r in csv.DictReader(f)]
    events.sort(key=lambda e: (e[2], e[0], e[1]))
    return items, users, events


def split(s):
    return [x.strip() for x in s.split("|") if x.strip()]


# --- the model --------------------------------------------------------------

class Cross(nn.Module):
    """DCN-v2 cross layer: x0 ⊙ (W·x + b) + x (nn.Cross)."""

    def __init__(self, dim):
        super().__init__()
        self.weight = nn.Parameter(torch.randn(dim, dim) * 0.01)
        self.bias = nn.Parameter(torch.zeros(dim))

    def forward(self, x0, x):
        return x0 * nn.functional.linear(x, self.weight, self.bias) + x


def mlp(sizes):
    return nn.ModuleList(nn.Linear(a, b) for a, b in zip(sizes, sizes[1:]))


def run_mlp(layers, x):
    for i, l in enumerate(layers):
        x = l(x)
        if i < len(layers) - 1:
            x = torch.relu(x)
    return x


def masked_mean(table, idx, mask):
    e = table(idx) * mask.unsqueeze(-1)
    n = mask.sum(1, keepdim=True).clamp(min=1)
    return e.sum(1) / n


class ItemTower(nn.Module):
    def __init__(self, n_items, n_cats):
        super().__init__()
        self.ids = nn.Embedding(n_items + 1, ID_DIM)
        self.categories = nn.Embedding(n_cats + 1, CAT_DIM)
        self.tokens = nn.Embedding(TOKEN_BUCKETS + 1, TOKEN_DIM)
        for t in (self.ids, self.categories, self.tokens):
            nn.init.normal_(t.weight, std=0.1)
        self.mlp = mlp([ID_DIM + CAT_DIM + TOKEN_DIM + 3 * len(ITEM_NUMERICS), HIDDEN, DIM])

    def forward(self, f):
        x = torch.cat([self.ids(f["id"]), masked_mean(self.categories, f["cats"], f["cats_mask"]),
                       masked_mean(self.tokens, f["toks"], f["toks_mask"]), f["num"]], 1)
        return nn.functional.normalize(run_mlp(self.mlp, x), dim=1, eps=0)


class QueryTower(nn.Module):
    def __init__(self, vocabs):
        super().__init__()
        self.fields = nn.ModuleDict({n: nn.Embedding(len(vocabs[n]) + 1, FIELD_DIM) for n in FIELDS})
        for t in self.fields.values():
            nn.init.normal_(t.weight, std=0.1)
        width = ID_DIM * (len(DECAYS) + 1) + FIELD_DIM * len(FIELDS) + 3 * len(QUERY_NUMERICS)
        self.cross = nn.ModuleList([Cross(width)])
        self.mlp = mlp([width, HIDDEN, DIM])

    def forward(self, ids, f):
        h = ids(f["hist"])  # [B, L, ID_DIM]
        parts = [(h * f["pool"][:, d, :].unsqueeze(-1)).sum(1) for d in range(len(DECAYS))]
        parts.append(ids(f["seed"]) * f["has_seed"].unsqueeze(-1))
        parts += [self.fields[n](f["fields"][:, i]) for i, n in enumerate(FIELDS)]
        parts.append(f["num"])
        x0 = torch.cat(parts, 1)
        x = x0
        for c in self.cross:
            x = c(x0, x)
        return nn.functional.normalize(run_mlp(self.mlp, x), dim=1, eps=0)


class TwoTower(nn.Module):
    def __init__(self, n_items, n_cats, vocabs):
        super().__init__()
        self.query = QueryTower(vocabs)
        self.item = ItemTower(n_items, n_cats)


# --- feature tensors ----------------------------------------------------------

def pad(rows, width=None):
    width = width or max(1, max((len(r) for r in rows), default=1))
    idx = torch.zeros(len(rows), width, dtype=torch.long)
    mask = torch.zeros(len(rows), width)
    for i, r in enumerate(rows):
        idx[i, :len(r)] = torch.tensor(r, dtype=torch.long)
        mask[i, :len(r)] = 1
    return idx, mask


def item_features(items, item_row, cat_row, bounds, now):
    ids, cats, toks, num = [], [], [], []
    for it in items:
        ids.append(item_row.get(it["item_id"], 0))
        cats.append([cat_row[c] for c in split(it["categories"]) if c in cat_row])
        toks.append(hash_tokens(it["title"], TOKEN_BUCKETS))
        price = float(it["price"] or 0)
        released = int(it["released"] or 0)
        raw = {"price": price if price > 0 else 0.0,
               "age_days": math.log1p((now - released) / 86400) if released > 0 and now > released else 0.0}
        row = []
        for n in ITEM_NUMERICS:
            row += powers(normalize(raw[n], bounds[n]))
        num.append(row)
    c, cm = pad(cats)
    t, tm = pad(toks)
    return {"id": torch.tensor(ids), "cats": c, "cats_mask": cm, "toks": t, "toks_mask": tm,
            "num": torch.tensor(np.array(num, dtype=np.float32))}


def query_features(examples, vocabs, bounds):
    """examples: (user row dict, history item rows oldest first)."""
    hists, pools, seeds, has_seed, fields, num = [], [], [], [], [], []
    for user, hist in examples:
        hist = hist[-MAX_HISTORY:]
        hists.append(hist)
        pools.append([pool_weights(len(hist), d) for d in DECAYS])
        seeds.append(hist[-1] if hist else 0)
        has_seed.append(1.0 if hist else 0.0)
        age = int(user.get("age") or 0)
        ctx = {"region": user.get("region", ""), "device": user.get("device", ""),
               "gender": user.get("gender", ""), "age_bucket": age_bucket(age)}
        fields.append([vocabs[n].get(ctx[n], 0) for n in FIELDS])
        raw = {"age": max(age, 0), "history_len": math.log1p(len(hist))}
        row = []
        for n in QUERY_NUMERICS:
            row += powers(normalize(raw[n], bounds[n]))
        num.append(row)
    h, _ = pad(hists, MAX_HISTORY)
    pool = torch.zeros(len(examples), len(DECAYS), MAX_HISTORY)
    for i, p in enumerate(pools):
        for d, w in enumerate(p):
            pool[i, d, :len(w)] = torch.tensor(np.array(w, dtype=np.float32))
    return {"hist": h, "pool": pool, "seed": torch.tensor(seeds), "has_seed": torch.tensor(has_seed),
            "fields": torch.tensor(fields), "num": torch.tensor(np.array(num, dtype=np.float32))}


def take(f, idx):
    return {k: v[idx] for k, v in f.items()}


def servable(item, user, history):
    """What core/pipeline's filter admits for a request with this user's
    context and history (filter.go): not in the history, available, age
    rating within the user's age, licensed in the user's region."""
    if item["item_id"] in history or item["available"] not in ("true", "1", ""):
        return False
    rating, age = int(item["age_rating"] or 0), int(user.get("age") or 0)
    if rating > 0 and ((age > 0 and age < rating) or (age <= 0 and rating >= ADULT_AGE)):
        return False
    regions = split(item["regions"])
    return not regions or user.get("region", "") in regions


# --- export -------------------------------------------------------------------

def write_safetensors(path, tensors):
    """A minimal safetensors writer: 8-byte little-endian header length, the
    JSON header (padded with spaces to 8 bytes), the F32 data in name order."""
    header, blobs, off = {}, [], 0
    for name in sorted(tensors):
        b = np.ascontiguousarray(tensors[name], dtype="<f4").tobytes()
        header[name] = {"dtype": "F32", "shape": list(tensors[name].shape), "data_offsets": [off, off + len(b)]}
        blobs.append(b)
        off += len(b)
    h = json.dumps(header, separators=(",", ":"), sort_keys=True).encode()
    h += b" " * (-len(h) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)


def snap_int8(w):
    """Round each row to the bundle's int8 grid (symmetric, scale max|x|/127,
    round to nearest, as core/quant.Encode): the module pools these rows as
    int8 (HIST, bundles/FORMAT.md §5.4), so snapping them makes the served
    query tower compute exactly what this model computes."""
    w = w.astype(np.float32)
    scale = (np.abs(w).max(axis=1, keepdims=True) / np.float32(127)).astype(np.float32)
    safe = np.where(scale > 0, scale, np.float32(1))
    codes = np.clip(np.rint(w / safe), -127, 127)
    return (codes * scale).astype(np.float32)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--epochs", type=int, default=3)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--per-user", type=int, default=16, help="training examples per user")
    ap.add_argument("--ref-users", type=int, default=20, help="users in reference.json")
    ap.add_argument("--no-snap", action="store_true", help="do not round the id table to the int8 grid")
    args = ap.parse_args()
    random.seed(args.seed)
    torch.manual_seed(args.seed)
    torch.set_num_threads(2)

    items, users, events = load(args.data)
    now = max(e[2] for e in events)
    item_ids = sorted({e[1] for e in events})
    item_row = {x: i + 1 for i, x in enumerate(item_ids)}
    cats = sorted({c for it in items for c in split(it["categories"])})
    cat_row = {c: i + 1 for i, c in enumerate(cats)}
    vocab_values = {n: sorted({(age_bucket(int(u["age"] or 0)) if n == "age_bucket" else u.get(n, "")) for u in users.values()} - {""})
                    for n in FIELDS}
    vocabs = {n: {v: i + 1 for i, v in enumerate(vals)} for n, vals in vocab_values.items()}

    hist_of = {}
    for u, it, _ in events:
        hist_of.setdefault(u, []).append(item_row[it])
    examples, targets = [], []
    for u in sorted(hist_of):
        h = hist_of[u]
        pos = list(range(1, len(h)))
        random.shuffle(pos)
        for j in sorted(pos[:args.per_user]):
            examples.append((users.get(u, {}), h[:j]))
            targets.append(h[j])

    released = [int(it["released"] or 0) for it in items]
    ibounds = {"price": fit_quantiles([float(it["price"] or 0) for it in items]),
               "age_days": fit_quantiles([math.log1p((now - r) / 86400) if 0 < r < now else 0.0 for r in released])}
    qbounds = {"age": fit_quantiles([int(u["age"] or 0) for u in users.values()]),
               "history_len": fit_quantiles([math.log1p(min(len(h), MAX_HISTORY)) for _, h in examples])}

    # Item features by id row (row 0: unknown), for training targets.
    by_row = {item_row[it["item_id"]]: it for it in items if it["item_id"] in item_row}
    row_items = [by_row.get(r, {"item_id": item_ids[r - 1], "title": "", "categories": "", "price": "",
                                "released": ""}) for r in range(1, len(item_ids) + 1)]
    ifeat = item_features(row_items, item_row, cat_row, ibounds, now)
    qfeat = query_features(examples, vocabs, qbounds)
    tgt = torch.tensor(targets) - 1

    model = TwoTower(len(item_ids), len(cats), vocab_values)
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    batch = 256
    for epoch in range(args.epochs):
        perm = torch.randperm(len(examples))
        total = 0.0
        for b in range(0, len(perm), batch):
            idx = perm[b:b + batch]
            q = model.query(model.item.ids, take(qfeat, idx))
            t = tgt[idx]
            v = model.item(take(ifeat, t))
            logits = q @ v.T / TEMPERATURE
            # Accidental hits: another example's target that is this one's too.
            same = (t.unsqueeze(0) == t.unsqueeze(1)) & ~torch.eye(len(t), dtype=torch.bool)
            logits = logits.masked_fill(same, -1e9)
            loss = nn.functional.cross_entropy(logits, torch.arange(len(t)))
            opt.zero_grad()
            loss.backward()
            opt.step()
            total += loss.item() * len(t)
        print(f"epoch {epoch + 1}: loss {total / len(examples):.4f}", flush=True)

    model.eval()
    if not args.no_snap:
        with torch.no_grad():
            model.item.ids.weight.copy_(torch.from_numpy(snap_int8(model.item.ids.weight.numpy())))
    tensors = {k: v.detach().numpy().astype(np.float32) for k, v in model.state_dict().items()}
    os.makedirs(args.out, exist_ok=True)
    spec = {
        "format": "edgerec-tower-spec", "version": 1, "name": "pytorch-two-tower",
        "data": os.path.basename(os.path.normpath(args.data)), "trained_at": now,
        "temperature": TEMPERATURE, "dim": DIM,
        "items": {"values": item_ids}, "categories": {"values": cats},
        "query": {"max_history": MAX_HISTORY, "decays": DECAYS, "seed": True,
                  "fields": [{"name": n, "vocab": {"values": vocab_values[n]}, "dim": FIELD_DIM} for n in FIELDS],
                  "numerics": [{"name": n, "bounds": qbounds[n]} for n in QUERY_NUMERICS],
                  "cross": 1,
                  "layers": [{"out": HIDDEN, "activation": "relu"},
                             {"out": DIM, "activation": "linear", "tensor": "query.mlp.1"}]},
        "item": {"id_dim": ID_DIM, "category_dim": CAT_DIM, "token_buckets": TOKEN_BUCKETS, "token_dim": TOKEN_DIM,
                 "numerics": [{"name": n, "bounds": ibounds[n]} for n in ITEM_NUMERICS],
                 "layers": [{"out": HIDDEN, "activation": "relu"}, {"out": DIM, "activation": "linear"}]},
        "source": {"framework": f"pytorch {torch.__version__}", "script": "tools/pytorch/twotower.py"},
    }
    # The checkpoint a PyTorch user would have; to_safetensors.py converts
    # it to the same bytes as model.safetensors.
    torch.save(model.state_dict(), os.path.join(args.out, "model.pt"))
    write_safetensors(os.path.join(args.out, "model.safetensors"), tensors)
    np.savez(os.path.join(args.out, "model.npz"), **tensors)
    with open(os.path.join(args.out, "spec.json"), "w") as f:
        json.dump(spec, f, indent=1)

    # Reference outputs: every catalog item's embedding at `now`, and for a
    # sample of users their query embedding and exact top-10 among the
    # items the serving filter admits.
    with torch.no_grad():
        all_items = model.item(item_features(items, item_row, cat_row, ibounds, now))
        ref_users = sorted(hist_of)[::max(1, len(hist_of) // args.ref_users)][:args.ref_users]
        queries = []
        for u in ref_users:
            user = users.get(u, {})
            hist_ids = [item_ids[r - 1] for r in hist_of[u]]
            q = model.query(model.item.ids, query_features([(user, hist_of[u])], vocabs, qbounds))[0]
            scores = (all_items @ q).tolist()
            ranked = sorted((i for i, it in enumerate(items) if servable(it, user, set(hist_ids))),
                            key=lambda i: -scores[i])
            order = ranked[:10]
            queries.append({"user": u, "history": hist_ids, "region": user.get("region", ""),
                            "device": user.get("device", ""), "gender": user.get("gender", ""),
                            "age": int(user.get("age") or 0), "embedding": q.tolist(),
                            "top10": [items[i]["item_id"] for i in order], "top10_scores": [scores[i] for i in order],
                            "ranked": [items[i]["item_id"] for i in ranked]})
    ref = {"created": now, "items": [it["item_id"] for it in items], "item_embeddings": all_items.tolist(),
           "queries": queries}
    with open(os.path.join(args.out, "reference.json"), "w") as f:
        json.dump(ref, f)
    print(f"wrote {args.out}: {len(tensors)} tensors, {len(item_ids)} items, {len(queries)} reference users")


if __name__ == "__main__":
    main()
