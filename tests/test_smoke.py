from tests.conftest import Tenant


def test_new_account_lists_its_first_plant(tenant: Tenant) -> None:
    plants = tenant.ok(tenant.get("/api/plant"))
    assert [p["code"] for p in plants] == [tenant.plant_code]
