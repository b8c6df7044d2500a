from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise.fields.base import OnDelete
from tortoise import fields
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('andon', '0001_initial')]

    initial = False

    operations = [
        ops.CreateModel(
            name='Cause',
            fields=[
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('updated_at', fields.DatetimeField(auto_now=True, auto_now_add=False)),
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('account', fields.ForeignKeyField('andon.Account', source_field='account_id', db_constraint=True, to_field='id', related_name='causes', on_delete=OnDelete.CASCADE)),
                ('code', fields.CharField(max_length=50)),
                ('description', fields.CharField(max_length=100)),
                ('parent', fields.ForeignKeyField('andon.Cause', source_field='parent_id', null=True, db_constraint=True, to_field='id', related_name='children', on_delete=OnDelete.RESTRICT)),
            ],
            options={'table': 'cause', 'app': 'andon', 'unique_together': (('account', 'code'),), 'pk_attr': 'id'},
            bases=['Stamped'],
        ),
        ops.CreateModel(
            name='Issue',
            fields=[
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('updated_at', fields.DatetimeField(auto_now=True, auto_now_add=False)),
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('account', fields.ForeignKeyField('andon.Account', source_field='account_id', db_constraint=True, to_field='id', related_name='issues', on_delete=OnDelete.CASCADE)),
                ('station', fields.ForeignKeyField('andon.Station', source_field='station_id', db_constraint=True, to_field='id', related_name='issues', on_delete=OnDelete.CASCADE)),
                ('sku', fields.ForeignKeyField('andon.Sku', source_field='sku_id', null=True, db_constraint=True, to_field='id', related_name='issues', on_delete=OnDelete.SET_NULL)),
                ('type', fields.CharField(max_length=10)),
                ('start_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('end_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('excluded_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('start_notified_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('end_notified_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('revision', fields.BigIntField(default=0)),
            ],
            options={'table': 'issue', 'app': 'andon', 'indexes': [Index(fields=['account_id', 'start_at']), Index(fields=['account_id', 'end_at']), Index(fields=['account_id', 'revision'])], 'pk_attr': 'id'},
            bases=['Stamped'],
        ),
        ops.CreateModel(
            name='IssueEvent',
            fields=[
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('updated_at', fields.DatetimeField(auto_now=True, auto_now_add=False)),
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('account', fields.ForeignKeyField('andon.Account', source_field='account_id', db_constraint=True, to_field='id', related_name='issue_events', on_delete=OnDelete.CASCADE)),
                ('issue', fields.ForeignKeyField('andon.Issue', source_field='issue_id', db_constraint=True, to_field='id', related_name='events', on_delete=OnDelete.CASCADE)),
                ('type', fields.CharField(max_length=12)),
                ('user', fields.ForeignKeyField('andon.User', source_field='user_id', null=True, db_constraint=True, to_field='id', related_name='issue_events', on_delete=OnDelete.SET_NULL)),
                ('user_email', fields.CharField(null=True, max_length=254)),
                ('operator_initials', fields.CharField(null=True, max_length=8)),
                ('estimate_end_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('notified_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('cause', fields.ForeignKeyField('andon.Cause', source_field='cause_id', null=True, db_constraint=True, to_field='id', related_name='events', on_delete=OnDelete.RESTRICT)),
                ('escalation_key', fields.CharField(null=True, max_length=40)),
                ('revision', fields.BigIntField(default=0)),
            ],
            options={'table': 'issue_event', 'app': 'andon', 'unique_together': (('issue', 'escalation_key'),), 'pk_attr': 'id'},
            bases=['Stamped'],
        ),
        ops.CreateModel(
            name='IssueWatcher',
            fields=[
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('updated_at', fields.DatetimeField(auto_now=True, auto_now_add=False)),
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('account', fields.ForeignKeyField('andon.Account', source_field='account_id', db_constraint=True, to_field='id', related_name='issue_watchers', on_delete=OnDelete.CASCADE)),
                ('issue', fields.ForeignKeyField('andon.Issue', source_field='issue_id', db_constraint=True, to_field='id', related_name='watchers', on_delete=OnDelete.CASCADE)),
                ('user', fields.ForeignKeyField('andon.User', source_field='user_id', db_constraint=True, to_field='id', related_name='watching', on_delete=OnDelete.CASCADE)),
            ],
            options={'table': 'issue_watcher', 'app': 'andon', 'unique_together': (('issue', 'user'),), 'pk_attr': 'id'},
            bases=['Stamped'],
        ),
        ops.AddField(
            model_name='Account',
            name='revision',
            field=fields.BigIntField(default=0),
        ),
    ]
