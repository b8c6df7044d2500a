from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise.fields.base import OnDelete
from tortoise import fields
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('andon', '0008_ingest_marks')]

    initial = False

    operations = [
        ops.CreateModel(
            name='DeadLetter',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('account', fields.ForeignKeyField('andon.Account', source_field='account_id', db_constraint=True, to_field='id', related_name='dead_letters', on_delete=OnDelete.CASCADE)),
                ('topic', fields.CharField(max_length=120)),
                ('reason', fields.CharField(max_length=40)),
                ('detail', fields.CharField(max_length=300)),
                ('received_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('payload', fields.BinaryField()),
                ('payload_bytes', fields.IntField()),
            ],
            options={'table': 'dead_letter', 'app': 'andon', 'indexes': [Index(fields=['account_id', 'id'])], 'pk_attr': 'id', 'table_description': 'One message of a known account that failed validation or application (bounded per account).'},
            bases=['Model'],
        ),
    ]
