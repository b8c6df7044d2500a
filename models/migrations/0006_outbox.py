from tortoise import migrations
from tortoise.migrations import operations as ops
from orjson import loads
from tortoise.fields.base import OnDelete
from tortoise.fields.data import JSON_DUMPS
from tortoise import fields
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('andon', '0005_station_windows')]

    initial = False

    operations = [
        ops.CreateModel(
            name='OutboxMessage',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('account', fields.ForeignKeyField('andon.Account', source_field='account_id', db_constraint=True, to_field='id', related_name='outbox_messages', on_delete=OnDelete.CASCADE)),
                ('kind', fields.CharField(max_length=20)),
                ('subject_ref', fields.CharField(max_length=100)),
                ('recipient', fields.CharField(max_length=254)),
                ('user', fields.ForeignKeyField('andon.User', source_field='user_id', null=True, db_constraint=True, to_field='id', related_name='outbox_messages', on_delete=OnDelete.SET_NULL)),
                ('issue', fields.ForeignKeyField('andon.Issue', source_field='issue_id', null=True, db_constraint=True, to_field='id', related_name='outbox_messages', on_delete=OnDelete.CASCADE)),
                ('event', fields.ForeignKeyField('andon.IssueEvent', source_field='event_id', null=True, db_constraint=True, to_field='id', related_name='outbox_messages', on_delete=OnDelete.CASCADE)),
                ('plant', fields.ForeignKeyField('andon.Plant', source_field='plant_id', null=True, db_constraint=True, to_field='id', related_name='outbox_messages', on_delete=OnDelete.CASCADE)),
                ('day', fields.DateField(null=True)),
                ('repeat', fields.SmallIntField(default=0)),
                ('group_ids', fields.JSONField(default=list, encoder=JSON_DUMPS, decoder=loads)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('next_attempt_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('claimed_until', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('attempts', fields.IntField(default=0)),
                ('sent_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('failed_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('last_error', fields.TextField(null=True, unique=False)),
            ],
            options={'table': 'outbox_message', 'app': 'andon', 'unique_together': (('kind', 'subject_ref', 'recipient'),), 'indexes': [Index(fields=['sent_at', 'failed_at', 'next_attempt_at'])], 'pk_attr': 'id', 'table_description': 'One email to one recipient. Unique on (kind, subject_ref, recipient): that is what sends it once.'},
            bases=['Model'],
        ),
    ]
