import pytest

from app.domain.api_keys import Scope
from tests.factories import Factory, bearer


@pytest.fixture
async def admin(factory: Factory) -> dict[str, str]:
    return bearer(await factory.api_key(Scope.ADMIN, name="admin"))


@pytest.fixture
async def checkout(factory: Factory) -> dict[str, str]:
    return bearer(await factory.api_key(Scope.CHECKOUT, name="checkout"))
