# Source: https://pytorch.org/docs/stable/optim.html ("optimizer.step(closure)": the LBFGS example)
# Changes: the model is a two-parameter Rosenbrock function instead of a network on a dataset; both
#   line-search settings are run.
import torch


def rosenbrock(xy):
    x, y = xy[0], xy[1]
    return (1 - x) ** 2 + 100 * (y - x ** 2) ** 2


for line_search in (None, "strong_wolfe"):
    xy = torch.tensor([-1.5, 2.0], dtype=torch.float64, requires_grad=True)
    optimizer = torch.optim.LBFGS([xy], lr=1 if line_search else 0.01, max_iter=20, history_size=10,
                                  line_search_fn=line_search)
    for step in range(5):
        def closure():
            optimizer.zero_grad()
            loss = rosenbrock(xy)
            loss.backward()
            return loss
        loss = optimizer.step(closure)
        print(step, f'{loss.item():.6f}', [f'{v:.5f}' for v in xy.tolist()])
    state = optimizer.state[xy]
    print(line_search, state['n_iter'], state['func_evals'])
