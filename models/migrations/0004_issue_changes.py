from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise.fields.base import OnDelete
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('andon', '0003_notification_preferences')]

    initial = False

    operations = [
        ops.CreateModel(
            name='IssueChange',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('account', fields.ForeignKeyField('andon.Account', source_field='account_id', db_constraint=True, to_field='id', related_name='issue_changes', on_delete=OnDelete.CASCADE)),
                ('revision', fields.BigIntField()),
                ('issue', fields.ForeignKeyField('andon.Issue', source_field='issue_id', db_constraint=True, to_field='id', related_name='changes', on_delete=OnDelete.CASCADE)),
                ('kind', fields.CharField(max_length=16)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'issue_change', 'app': 'andon', 'unique_together': (('account', 'revision'),), 'pk_attr': 'id', 'table_description': 'One row per issue change (create, event, end), in revision order: what a resuming subscriber replays.'},
            bases=['Model'],
        ),
    ]
