"""The JSON documents the stack hands to AWS, as pure functions (tested without Pulumi)."""

from __future__ import annotations

LAMBDA_ASSUME_ROLE_POLICY = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Principal": {"Service": "lambda.amazonaws.com"},
            "Action": "sts:AssumeRole",
        }
    ],
}


def logging_policy(log_group_arn: str) -> dict:
    """Least privilege for the function: write its log streams in its own log group, nothing
    else (the group exists already: the stack creates it; no wildcard resource)."""
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
                "Resource": f"{log_group_arn}:log-stream:*",
            }
        ],
    }


def lifecycle_policy(keep_images: int, protected_tags: list[str]) -> dict:
    """Expire all but the newest `keep_images` images, never an image tagged in
    `protected_tags` (the images of the versions the live alias routes to).

    ECR applies the rules by priority, and an image that matches a higher-priority rule's
    tag selection is never expired by a lower one: each protected tag gets a rule of its
    own (several prefixes in one rule would select only images carrying all of them) that
    can only expire beyond a count one tag never reaches.
    """
    rules = [
        {
            "rulePriority": priority,
            "description": f"keep {tag}: the live alias routes to it",
            "selection": {
                "tagStatus": "tagged",
                "tagPrefixList": [tag],
                "countType": "imageCountMoreThan",
                "countNumber": 1000,
            },
            "action": {"type": "expire"},
        }
        for priority, tag in enumerate(sorted(set(protected_tags)), start=1)
    ]
    rules.append(
        {
            "rulePriority": len(rules) + 1,
            "description": f"keep the newest {keep_images} images",
            "selection": {"tagStatus": "any", "countType": "imageCountMoreThan", "countNumber": keep_images},
            "action": {"type": "expire"},
        }
    )
    return {"rules": rules}
