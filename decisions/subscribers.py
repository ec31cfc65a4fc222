"""What `decisions` does when `accounts` announces that a customer's data changed."""


def recompute_when_data_changes(*, customer_id: int, trigger: str) -> None:
    from .tasks import recompute_customer  # tasks import services, which import models: not at app load

    recompute_customer.delay_on_commit(customer_id=customer_id, trigger=trigger)
