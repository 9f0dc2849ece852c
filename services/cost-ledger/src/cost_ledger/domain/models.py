"""Model names as providers return them -> the genai-prices family id the catalog is keyed by."""

from genai_prices.data_snapshot import find_provider_by_id, get_snapshot
from genai_prices.types import ModelInfo, Provider

_CACHE_LIMIT = 10_000  # names come from events; bound the memo so junk names cannot grow it


class ModelResolver:
    """Uses genai-prices' own match rules (`Provider.find_model`), so
    `claude-sonnet-4-5-20250929` is `claude-sonnet-4-5` and `gpt-4o-2024-08-06` is `gpt-4o`."""

    def __init__(self, providers: list[Provider] | None = None) -> None:
        self._providers = providers if providers is not None else get_snapshot().providers
        # A provider may fall back to another one's models (Azure -> OpenAI): remember the owner,
        # because the catalog row lives under the provider that lists the model.
        self._owner = {id(m): p.id for p in self._providers for m in p.models}
        self._memo: dict[tuple[str, str], tuple[str, str] | None] = {}

    def resolve(self, provider: str, model: str) -> tuple[str, str] | None:
        """(owning provider id, model family id), or None when genai-prices knows no match."""
        key = (provider.strip().lower(), model.strip().lower())
        if key not in self._memo:
            if len(self._memo) >= _CACHE_LIMIT:
                self._memo.clear()
            self._memo[key] = self._lookup(*key)
        return self._memo[key]

    def _lookup(self, provider: str, model: str) -> tuple[str, str] | None:
        if not provider or not model:
            return None
        owner = find_provider_by_id(self._providers, provider)
        if owner is None:
            return None
        info: ModelInfo | None = owner.find_model(model, all_providers=self._providers)
        if info is None:
            return None
        return self._owner.get(id(info), owner.id), info.id
