"""The product's imports go one way: resolver packages in their documented order (docs/architecture.md)."""

from __future__ import annotations

import grimp
import pytest

# Highest first: each package may import those after it in the list, never one before it.
RESOLVER_LAYERS = [
    "demo",
    "analysis",
    "signals",
    "issues",
    "windows",
    "mail",
    "catalog",
    "identity",
    "common",
]


@pytest.fixture(scope="module")
def graph() -> grimp.ImportGraph:
    return grimp.build_graph("resolvers", "models", cache_dir=None)


@pytest.mark.backend_independent
def test_resolver_packages_import_in_their_documented_order(graph: grimp.ImportGraph) -> None:
    illegal = graph.find_illegal_dependencies_for_layers(layers=RESOLVER_LAYERS, containers={"resolvers"})
    chains = sorted(
        f"{dependency.importer} must not import {dependency.imported}: "
        + " | ".join(
            " -> ".join([",".join(sorted(route.heads)), *route.middle, ",".join(sorted(route.tails))])
            for route in dependency.routes
        )
        for dependency in illegal
    )
    assert not chains, "\n".join(chains)


@pytest.mark.backend_independent
def test_every_resolver_module_sits_in_a_layer(graph: grimp.ImportGraph) -> None:
    loose = sorted(m for m in graph.find_children("resolvers") if m.split(".")[1] not in RESOLVER_LAYERS)
    assert not loose, f"modules outside the resolver packages: {loose}"
