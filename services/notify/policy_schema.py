"""What policy/notify.yml may say. Checked when the service starts
(shared.policy.Policy): a misspelt key would otherwise leave its value unset
until the sweep that reads it fails."""
from shared.policy import PolicySchema, Seconds, whole


class NotifyPolicy(PolicySchema):
    version = whole(1, required=True)
    follow_up_after_seconds = Seconds(required=True)
    order_max_hold_seconds = Seconds(required=True)
    secret_overlap_seconds = Seconds(required=True)
