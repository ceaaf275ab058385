# Source: https://pytorch.org/docs/stable/generated/torch.nn.TransformerEncoderLayer.html,
#   .../torch.nn.TransformerEncoder.html and .../torch.nn.MultiheadAttention.html (the examples
#   of each page)
# Changes: d_model 8 and 2 heads instead of 512 and 8, 2 layers instead of 6, short sequences;
#   the random inputs are fixed tensors and the parameters are set to fixed values; dropout is 0
#   so that training-mode outputs are deterministic; the outputs' sums are printed.
import torch
from torch import nn


def fix_parameters(module):
    with torch.no_grad():
        for i, p in enumerate(module.parameters()):
            p.copy_(torch.linspace(-0.25, 0.25 + 0.01 * i, p.numel()).reshape(p.shape))


encoder_layer = nn.TransformerEncoderLayer(d_model=8, nhead=2, dim_feedforward=16, dropout=0.0)
fix_parameters(encoder_layer)
src = torch.linspace(-1, 1, 5 * 3 * 8).reshape(5, 3, 8)
out = encoder_layer(src)
print(out.shape, f"{out.sum().item():.4f}")

encoder_layer = nn.TransformerEncoderLayer(d_model=8, nhead=2, dim_feedforward=16, dropout=0.0,
                                           batch_first=True)
fix_parameters(encoder_layer)
src = torch.linspace(-1, 1, 3 * 5 * 8).reshape(3, 5, 8)
out = encoder_layer(src)
print(out.shape, f"{out.sum().item():.4f}")

encoder_layer = nn.TransformerEncoderLayer(d_model=8, nhead=2, dim_feedforward=16, dropout=0.0)
transformer_encoder = nn.TransformerEncoder(encoder_layer, num_layers=2, enable_nested_tensor=False)
fix_parameters(transformer_encoder)
src = torch.linspace(-1, 1, 5 * 3 * 8).reshape(5, 3, 8)
out = transformer_encoder(src)
print(out.shape, f"{out.sum().item():.4f}")
mask = torch.triu(torch.full((5, 5), float("-inf")), diagonal=1)
out = transformer_encoder(src, mask=mask, is_causal=True)
print(f"{out.sum().item():.4f}")

multihead_attn = nn.MultiheadAttention(embed_dim=8, num_heads=2)
fix_parameters(multihead_attn)
query = torch.linspace(-1, 1, 4 * 2 * 8).reshape(4, 2, 8)
key = torch.linspace(1, -1, 6 * 2 * 8).reshape(6, 2, 8)
value = torch.linspace(-0.5, 0.5, 6 * 2 * 8).reshape(6, 2, 8)
attn_output, attn_output_weights = multihead_attn(query, key, value)
print(attn_output.shape, attn_output_weights.shape)
print(attn_output_weights[0])
print(f"{attn_output.sum().item():.4f}")
attn_output.sum().backward()
print(multihead_attn.in_proj_weight.grad.shape, f"{multihead_attn.in_proj_weight.grad.abs().sum().item():.4f}")
