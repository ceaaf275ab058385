"""``functional_call``: a module run with the given tensors in place of its parameters and
buffers, which are put back afterwards (also when the call raises)."""
from __future__ import annotations


def functional_call(module, parameter_and_buffer_dicts, args=None, kwargs=None, *, tie_weights: bool = True,
                    strict: bool = False):
    """Call ``module`` with the given parameters and buffers in place of its own (by dotted name),
    leaving the module unchanged."""
    values = _merged(parameter_and_buffer_dicts)
    if tie_weights:
        values = _with_tied(module, values)
    if strict:
        _check_keys(module, values)
    if args is None:
        args = ()
    elif not isinstance(args, tuple):
        args = (args,)
    restore = []
    try:
        for name, value in values.items():
            restore.append(_swap(module, name, value))
        return module(*args, **(kwargs or {}))
    finally:
        for undo in reversed(restore):
            undo()


def _merged(dicts) -> dict:
    if isinstance(dicts, dict):
        return dict(dicts)
    if not isinstance(dicts, (list, tuple)) or not all(isinstance(d, dict) for d in dicts):
        raise ValueError("Expected parameter_and_buffer_dicts to be a dict, or a list/tuple of dicts, but got "
                         f"{type(dicts)}")
    merged, repeated = {}, []
    for d in dicts:
        for key, value in d.items():
            if key in merged and key not in repeated:
                repeated.append(key)
            merged[key] = value
    if repeated:
        raise ValueError(f"{repeated} appeared in multiple dictionaries; behavior of functional call is ambiguous")
    return merged


def _named_tensors(module) -> list:
    return (list(module.named_parameters(remove_duplicate=False))
            + list(module.named_buffers(remove_duplicate=False)))


def _with_tied(module, values: dict) -> dict:
    """Every name of a tensor the module shares between names gets the value given for one."""
    groups: dict = {}
    for name, tensor in _named_tensors(module):
        groups.setdefault(id(tensor), []).append(name)
    out = dict(values)
    for names in groups.values():
        given = [n for n in names if n in values]
        if len(names) < 2 or not given:
            continue
        if len({id(values[n]) for n in given}) > 1:
            raise ValueError(f"functional_call got multiple values for keys {given}, which are tied. "
                             "Consider using tie_weights=False")
        for n in names:
            out.setdefault(n, values[given[0]])
    return out


def _check_keys(module, values: dict) -> None:
    known = [name for name, _ in _named_tensors(module)]
    unexpected = [k for k in values if k not in known]
    missing = [k for k in known if k not in values]
    if unexpected or missing:
        lines = []
        if unexpected:
            lines.append("Unexpected key(s): " + ", ".join(f"'{k}'" for k in unexpected) + ".")
        if missing:
            lines.append("Missing key(s): " + ", ".join(f"'{k}'" for k in missing) + ".")
        raise RuntimeError(f"Error(s) in reparametrizing for {type(module).__name__}:\n\t" + "\n\t".join(lines))


def _swap(module, name: str, value):
    """Put ``value`` at ``name`` (dotted) and return the function that puts the old one back."""
    path, _, attr = name.rpartition(".")
    owner = module.get_submodule(path) if path else module
    for registry in (owner._parameters, owner._buffers):
        if attr in registry:
            old = registry[attr]
            registry[attr] = value

            def undo(registry=registry, old=old):
                registry[attr] = old
            return undo
    missing = object()
    old = owner.__dict__.get(attr, missing)
    object.__setattr__(owner, attr, value)

    def undo_attribute():
        if old is missing:
            object.__delattr__(owner, attr)
        else:
            object.__setattr__(owner, attr, old)
    return undo_attribute


def stack_module_state(models) -> tuple[dict, dict]:
    """The parameters and buffers of same-class ``models`` stacked along a new first dim (for
    ``vmap`` over ``functional_call``: an ensemble run as one batched model)."""
    models = list(models)
    if not models:
        raise RuntimeError("stack_module_state: Expected at least one model, got 0.")
    if not (all(m.training for m in models) or not any(m.training for m in models)):
        raise RuntimeError("stack_module_state: Expected all models to have the same training/eval mode.")
    if not all(type(m) is type(models[0]) for m in models):
        raise RuntimeError("stack_module_state: Expected all models to be of the same class.")
    return (_stacked([dict(m.named_parameters()) for m in models]),
            _stacked([dict(m.named_buffers()) for m in models]))


def _stacked(states: list) -> dict:
    from ..ops.shape import stack
    out = {}
    for name in states[0]:
        tensors = [s[name] for s in states]
        needs = [t.requires_grad for t in tensors]
        if any(needs) and not all(needs):
            raise RuntimeError(f"Expected {name} from each model to have the same .requires_grad")
        out[name] = stack(tensors).detach().requires_grad_() if all(needs) else stack(tensors)
    return out
