"""How PII is shown to people who do not need the full value."""


def _mask(value: str, visible: int) -> str:
    if not value:
        return ""
    keep = value[-visible:] if len(value) > visible else ""
    return "•" * (len(value) - len(keep)) + keep


def mask_phone(phone: str) -> str:
    return _mask(phone, 3)


def mask_national_id(national_id: str) -> str:
    return _mask(national_id, 4)
